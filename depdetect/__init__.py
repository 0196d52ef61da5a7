"""depdetect: explainable, text-based depression detection on the Hugging Face stack.

Importing the package registers its configs and models with the Auto classes and its pipeline tasks
("depression-detection", "depression-scoring") with `transformers.pipeline`.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_dual_encoder import DualEncoderConfig
from .configuration_hybrid import HybridConfig
from .modeling_dual_encoder import DualEncoderForDepressionScoring, DualEncoderOutput
from .modeling_hybrid import HybridExplanationOutput, HybridForSequenceClassification, awvti, nas
from .pipeline_depression import DepressionDetectionPipeline, DepressionScoringPipeline

__version__ = "0.1.0"

AutoConfig.register(HybridConfig.model_type, HybridConfig, exist_ok=True)
AutoModelForSequenceClassification.register(HybridConfig, HybridForSequenceClassification, exist_ok=True)
HybridConfig.register_for_auto_class()
HybridForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
AutoConfig.register(DualEncoderConfig.model_type, DualEncoderConfig, exist_ok=True)
AutoModel.register(DualEncoderConfig, DualEncoderForDepressionScoring, exist_ok=True)
DualEncoderConfig.register_for_auto_class()
DualEncoderForDepressionScoring.register_for_auto_class("AutoModel")
PIPELINE_REGISTRY.register_pipeline(
    "depression-scoring",
    pipeline_class=DepressionScoringPipeline,
    pt_model=AutoModel,
    type="text",
)
PIPELINE_REGISTRY.register_pipeline(
    "depression-detection",
    pipeline_class=DepressionDetectionPipeline,
    pt_model=AutoModelForSequenceClassification,
    type="text",
)



def __getattr__(name: str):
    """DORIS (numpy/XGBoost, no torch model) loads on first use, keeping `import depdetect` light."""
    if name in ("DorisConfig", "DorisPipeline"):
        from . import doris

        return getattr(doris, name)
    raise AttributeError(f"module 'depdetect' has no attribute {name!r}")


__all__ = [
    "DepressionDetectionPipeline",
    "DepressionScoringPipeline",
    "DorisConfig",
    "DorisPipeline",
    "DualEncoderConfig",
    "DualEncoderForDepressionScoring",
    "DualEncoderOutput",
    "HybridConfig",
    "HybridExplanationOutput",
    "HybridForSequenceClassification",
    "awvti",
    "nas",
]
