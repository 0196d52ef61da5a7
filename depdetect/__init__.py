"""depdetect: explainable, text-based depression detection on the Hugging Face stack.

`import depdetect` is light (the command line answers `--help` without loading torch). The public names load on
first use, and the first use of a torch model class also registers the Auto classes and the pipeline tasks
("depression-detection", "depression-scoring") with transformers (see depdetect.auto).
"""

from __future__ import annotations

import importlib

__version__ = "0.7.0"

#: public name -> the module that defines it
_EXPORTS = {
    "HybridConfig": "depdetect.auto",
    "HybridForSequenceClassification": "depdetect.auto",
    "DepressionDetectionPipeline": "depdetect.auto",
    "DualEncoderConfig": "depdetect.auto",
    "DualEncoderForDepressionScoring": "depdetect.auto",
    "DepressionScoringPipeline": "depdetect.auto",
    "HybridExplanationOutput": "depdetect.hybrid.modeling_hybrid",
    "awvti": "depdetect.hybrid.modeling_hybrid",
    "nas": "depdetect.hybrid.modeling_hybrid",
    "DualEncoderOutput": "depdetect.dual_encoder.modeling_dual_encoder",
    "DorisConfig": "depdetect.doris.config",
    "DorisPipeline": "depdetect.doris.pipeline",
    "push_to_hub": "depdetect.hub",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depdetect' has no attribute {name!r}")
    if _EXPORTS[name] != "depdetect.auto" and _EXPORTS[name].startswith(("depdetect.hybrid", "depdetect.dual_")):
        importlib.import_module("depdetect.auto")  # a torch model is in use: register it with transformers
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
