"""The dual encoder's model card (donor or receiver): its template's fields from the config and metrics.json."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard

from ..cards import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    TEMPLATES,
    card_data,
    common_fields,
    metric_numbers,
    render_card,
)
from .configuration_dual_encoder import DualEncoderConfig


def dual_encoder_card(config, metrics: dict, repo_or_path: str = "path/to/this/folder", revision: str | None = None,
                      template: str | Path | None = None) -> ModelCard:
    """The card of a saved dual encoder (donor or receiver)."""
    card = metrics.get("card", {})
    regression = config.num_labels == 1
    keys = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS + ("attention_entropy",)
    numbers = metric_numbers(metrics, keys)
    role = metrics.get("role", "model")
    encoders = card.get("encoders") or ["unknown", "unknown"]
    data = card_data(f"depdetect MHIM dual encoder ({role})", numbers,
                     "text-regression" if regression else "text-classification",
                     "Depression severity (interview)" if regression else "Depression detection (interview)", card,
                     None if regression else "text-classification", "transformers",
                     ["custom_code", "multiple-instance-learning"])
    return render_card(
        template or TEMPLATES / "dual_encoder.md", data,
        **common_fields("dual_encoder", metrics, repo_or_path, revision, numbers),
        role=role,
        regression=regression,
        prefix_encoder=encoders[0],
        sentence_encoder=encoders[1],
        prefix_length=config.prefix_length,
        projection_size=config.projection_size,
        lstm_hidden_size=config.lstm_hidden_size,
        max_turn_length=config.max_turn_length,
        prompts=getattr(config, "prompts", "keep"),
        mhim=metrics.get("mhim"),
    )


def folder_card(folder: Path, metrics: dict, repo_or_path: str, revision: str | None = None,
                template: str | Path | None = None) -> ModelCard:
    """The card of a saved dual-encoder folder (the registry's `card`)."""
    return dual_encoder_card(DualEncoderConfig.from_pretrained(folder), metrics, repo_or_path, revision, template)
