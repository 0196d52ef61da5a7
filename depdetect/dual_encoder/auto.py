"""Registers the dual encoder with transformers: `AutoConfig` / `AutoModel` and the "depression-scoring" pipeline
task (the registry's `transformers_auto` for the dual encoder; run by depdetect.auto)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_dual_encoder import DualEncoderConfig
from .modeling_dual_encoder import DualEncoderForDepressionScoring
from .pipeline_dual_encoder import TASK, DepressionScoringPipeline


def register() -> None:
    AutoConfig.register(DualEncoderConfig.model_type, DualEncoderConfig, exist_ok=True)
    AutoModel.register(DualEncoderConfig, DualEncoderForDepressionScoring, exist_ok=True)
    PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=DepressionScoringPipeline, pt_model=AutoModel,
                                        type="text")
