"""The Inference Endpoints handler of a saved DORIS pipeline.

DORIS is not a transformers model (XGBoost trees over sentence-embedding features), so its folder's `handler.py`
needs depdetect installed with the `doris` extra: `DorisPipeline.save_pretrained` writes a two-line `handler.py`
that imports this class, and a `requirements.txt` naming `depdetect[doris]` (Inference Endpoints installs a
repo's requirements.txt before it loads the handler); endpoint.py beside this file holds those two files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import predictor as doris


class EndpointHandler:
    """Inference Endpoints' custom handler for DORIS: `EndpointHandler(path)` loads the saved pipeline;
    `handler({"inputs": user or [users], "parameters": {"explain": bool, "uncalibrated": bool}})` returns, per
    user (a dict of `user_id` and `posts`, each post a dict with `text` and optional `timestamp`), the label and
    calibrated P(depression) and, unless `"explain": false`, the symptoms with their posts, the mood course and
    the written explanation: what `depdetect predict` writes. One user in, one result out; a list in, a list out."""

    def __init__(self, path: str = "", **_: Any):
        self.predictor = doris.load_predictor(Path(path or "."))

    def __call__(self, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError('Send a JSON object {"inputs": ..., "parameters": {...}} (parameters optional), got '
                             f"{type(data).__name__}{' without inputs' if isinstance(data, dict) else ''}.")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict) or set(parameters) - {"explain", "uncalibrated"}:
            raise ValueError('"parameters" must be a JSON object with "explain" and/or "uncalibrated" (true or '
                             f"false), got {parameters!r}.")
        inputs = data["inputs"]
        single = isinstance(inputs, dict)
        users = [inputs] if single else inputs
        if not isinstance(users, list) or not users:
            raise ValueError('"inputs" must be one user {"user_id": ..., "posts": [{"text": ...}, ...]} or a '
                             f"non-empty list of them, got {type(inputs).__name__}.")
        users = [doris.check_record(user, f"inputs[{i}]", labelled=False) for i, user in enumerate(users)]
        outputs = doris.predict(self.predictor, users, explain=bool(parameters.get("explain", True)),
                                          uncalibrated=bool(parameters.get("uncalibrated", False)))
        return outputs[0] if single else outputs
