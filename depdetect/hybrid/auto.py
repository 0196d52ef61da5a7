"""Registers the Hybrid with transformers: `AutoConfig` / `AutoModelForSequenceClassification` and the
"depression-detection" pipeline task (the registry's `transformers_auto` for the Hybrid; run by depdetect.auto)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_hybrid import HybridConfig
from .modeling_hybrid import HybridForSequenceClassification
from .pipeline_hybrid import TASK, DepressionDetectionPipeline


def register() -> None:
    AutoConfig.register(HybridConfig.model_type, HybridConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(HybridConfig, HybridForSequenceClassification, exist_ok=True)
    PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=DepressionDetectionPipeline,
                                        pt_model=AutoModelForSequenceClassification, type="text")
