"""depdetect: explainable, text-based depression detection on the Hugging Face stack.

Importing the package registers its configs and models with the Auto classes and its pipeline tasks
("depression-detection") with `transformers.pipeline`.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_hybrid import HybridConfig
from .modeling_hybrid import HybridExplanationOutput, HybridForSequenceClassification, awvti, nas
from .pipeline_depression import DepressionDetectionPipeline

__version__ = "0.1.0"

AutoConfig.register(HybridConfig.model_type, HybridConfig, exist_ok=True)
AutoModelForSequenceClassification.register(HybridConfig, HybridForSequenceClassification, exist_ok=True)
HybridConfig.register_for_auto_class()
HybridForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
PIPELINE_REGISTRY.register_pipeline(
    "depression-detection",
    pipeline_class=DepressionDetectionPipeline,
    pt_model=AutoModelForSequenceClassification,
    type="text",
)

__all__ = [
    "DepressionDetectionPipeline",
    "HybridConfig",
    "HybridExplanationOutput",
    "HybridForSequenceClassification",
    "awvti",
    "nas",
]
