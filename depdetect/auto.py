"""Registers depdetect's torch models with transformers' Auto classes and its pipeline tasks with `pipeline()`.

Imported on first use of any depdetect model class (`from depdetect import HybridForSequenceClassification`, or
`import depdetect.auto`), not by `import depdetect` itself, which stays light so the command line answers fast.
After it: `AutoConfig` / `AutoModelForSequenceClassification` / `AutoModel.from_pretrained(folder)` load saved
depdetect models without remote code, and `pipeline("depression-detection" | "depression-scoring", model=...)`
accepts model objects. Saved folders need none of this: they carry their code (`trust_remote_code=True`).
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .dual_encoder.configuration_dual_encoder import DualEncoderConfig
from .dual_encoder.modeling_dual_encoder import DualEncoderForDepressionScoring
from .dual_encoder.pipeline_dual_encoder import TASK as SCORING_TASK
from .dual_encoder.pipeline_dual_encoder import DepressionScoringPipeline
from .hybrid.configuration_hybrid import HybridConfig
from .hybrid.modeling_hybrid import HybridForSequenceClassification
from .hybrid.pipeline_hybrid import TASK as DETECTION_TASK
from .hybrid.pipeline_hybrid import DepressionDetectionPipeline

AutoConfig.register(HybridConfig.model_type, HybridConfig, exist_ok=True)
AutoModelForSequenceClassification.register(HybridConfig, HybridForSequenceClassification, exist_ok=True)
AutoConfig.register(DualEncoderConfig.model_type, DualEncoderConfig, exist_ok=True)
AutoModel.register(DualEncoderConfig, DualEncoderForDepressionScoring, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(DETECTION_TASK, pipeline_class=DepressionDetectionPipeline,
                                    pt_model=AutoModelForSequenceClassification, type="text")
PIPELINE_REGISTRY.register_pipeline(SCORING_TASK, pipeline_class=DepressionScoringPipeline, pt_model=AutoModel,
                                    type="text")

__all__ = [
    "DepressionDetectionPipeline",
    "DepressionScoringPipeline",
    "DualEncoderConfig",
    "DualEncoderForDepressionScoring",
    "HybridConfig",
    "HybridForSequenceClassification",
]
