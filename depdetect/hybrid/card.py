"""The Hybrid's model card: its template's fields from the config and metrics.json."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard

from ..cards import CLASSIFICATION_METRICS, TEMPLATES, card_data, common_fields, metric_numbers, render_card
from .configuration_hybrid import HybridConfig


def hybrid_card(config, metrics: dict, repo_or_path: str = "path/to/this/folder", revision: str | None = None,
                template: str | Path | None = None) -> ModelCard:
    """The card of a Hybrid folder (intended use, data, results, explanations, limits)."""
    card = metrics.get("card", {})
    numbers = metric_numbers(metrics, CLASSIFICATION_METRICS)
    name = (
        "depdetect Hybrid (PTLM"
        + (" + BiLSTM" if config.use_bilstm else "")
        + (" + CNN" if config.use_cnn else "")
        + (" + mean-pooled embedding" if getattr(config, "use_pooled_embedding", False) else "")
        + ")"
    )
    data = card_data(name, numbers, "text-classification", "Depression detection (single post)", card,
                     "text-classification", "transformers", ["custom_code"])
    return render_card(
        template or TEMPLATES / "hybrid.md",
        data,
        **common_fields("hybrid", metrics, repo_or_path, revision, numbers),
        model_name=name,
        base_model=card.get("base_model") or config.encoder_config.model_type,
        lstm=f"{config.lstm_hidden_size} units per direction" if config.use_bilstm else "disabled",
        cnn=f"kernels {tuple(config.cnn_kernel_sizes)}, {config.cnn_num_filters} filters each"
        if config.use_cnn
        else "disabled",
        fc_hidden_size=config.fc_hidden_size,
        max_length=config.max_length,
        split_description=card.get("split_description", "Not recorded."),
        best_epoch=metrics.get("best_epoch"),
        metric_for_best_model=metrics.get("metric_for_best_model", "f1"),
    )


def folder_card(folder: Path, metrics: dict, repo_or_path: str, revision: str | None = None,
                template: str | Path | None = None) -> ModelCard:
    """The card of a saved Hybrid folder (the registry's `card`)."""
    return hybrid_card(HybridConfig.from_pretrained(folder), metrics, repo_or_path, revision, template)
