"""The Inference Endpoints handler of a saved dual encoder: `handler.py` in the model folder (and repo), so that a
custom Inference Endpoint serves it with `EndpointHandler(path)(data)`.

This file travels to the Hub with saved models (modeling_dual_encoder.py imports it in `save_pretrained`, so
transformers copies it): it imports only transformers and the standard library, and runs where depdetect is not
installed.
"""

from __future__ import annotations

import json
import os
from typing import Any

from transformers import pipeline


# Copied from depdetect.hybrid.handler.EndpointHandler
class EndpointHandler:
    """Inference Endpoints' custom handler: `EndpointHandler(path)` loads the folder's pipeline (the task its
    config.json names in `custom_pipelines`, with its own remote code); `handler({"inputs": ..., "parameters":
    {...}})` returns what the pipeline returns for `inputs` with `parameters` as keyword arguments (explanations
    included unless `"explain": false`). Bad input gets the pipeline's own message (a ValueError or TypeError)."""

    def __init__(self, path: str = "", **pipeline_kwargs: Any):
        folder = path or "."
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
            tasks = list(json.load(handle).get("custom_pipelines") or {})
        if len(tasks) != 1:
            raise ValueError(f"{folder}/config.json names {len(tasks)} custom pipelines ({tasks}); the handler serves "
                             "a folder saved by depdetect, which names exactly one.")
        self.task = tasks[0]
        self.pipeline = pipeline(self.task, model=folder, trust_remote_code=True, **pipeline_kwargs)

    def __call__(self, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError('Send a JSON object {"inputs": ..., "parameters": {...}} (parameters optional), got '
                             f"{type(data).__name__}{' without inputs' if isinstance(data, dict) else ''}.")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f'"parameters" must be a JSON object of the pipeline\'s arguments, got '
                             f"{type(parameters).__name__}.")
        return self.pipeline(data["inputs"], **parameters)
