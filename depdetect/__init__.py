"""depdetect: explainable, text-based depression detection on the Hugging Face stack.

`import depdetect` is light (the command line answers `--help` without loading torch). The public names load on
first use, and the first use of a torch model class also registers the Auto classes and the pipeline tasks
("depression-detection", "depression-scoring") with transformers (see depdetect.auto).
"""

from __future__ import annotations

import importlib

__version__ = "0.14.0"

#: public name -> the module that defines it
_EXPORTS = {
    "HybridConfig": "depdetect.hybrid.configuration_hybrid",
    "HybridForSequenceClassification": "depdetect.hybrid.modeling_hybrid",
    "DepressionDetectionPipeline": "depdetect.hybrid.pipeline_hybrid",
    "DualEncoderConfig": "depdetect.dual_encoder.configuration_dual_encoder",
    "DualEncoderForDepressionScoring": "depdetect.dual_encoder.modeling_dual_encoder",
    "DepressionScoringPipeline": "depdetect.dual_encoder.pipeline_dual_encoder",
    "HybridExplanationOutput": "depdetect.hybrid.modeling_hybrid",
    "awvti": "depdetect.hybrid.modeling_hybrid",
    "nas": "depdetect.hybrid.modeling_hybrid",
    "DualEncoderOutput": "depdetect.dual_encoder.modeling_dual_encoder",
    "DorisConfig": "depdetect.doris.config",
    "DorisPipeline": "depdetect.doris.pipeline",
    "push_to_hub": "depdetect.hub",
    # fine-tuning with transformers' Trainer and PEFT (depdetect.finetune)
    "lora_config": "depdetect.finetune",
    "score_normalization": "depdetect.finetune",
    "save_for_hub": "depdetect.finetune",
    "InterviewCollator": "depdetect.dual_encoder.data",
    "tokenize_interviews": "depdetect.dual_encoder.data",
    "interviews_from_records": "depdetect.dual_encoder.data",
}

#: the modules whose names, on first use, register depdetect's models with transformers (depdetect.auto)
_TORCH_MODULES = {module for module in _EXPORTS.values() if "modeling_" in module or "configuration_" in module
                  or "pipeline_" in module}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depdetect' has no attribute {name!r}")
    if _EXPORTS[name] in _TORCH_MODULES:
        importlib.import_module("depdetect.auto")  # a torch model is in use: register it with transformers
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
