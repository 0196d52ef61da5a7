"""Model cards written from the templates in `depdetect/model_cards/` and the run's metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import transformers
from huggingface_hub import ModelCard, ModelCardData

TEMPLATES = Path(__file__).parent / "model_cards"


def hybrid_card(
    config,
    metrics: dict[str, Any],
    data_description: str,
    split_description: str,
    training_description: str,
    base_model: str | None = None,
    repo_or_path: str = "path/to/this/folder",
) -> ModelCard:
    """The README.md of a trained Hybrid folder: intended use, data, results table, limits."""
    from . import __version__

    test = {k: v for k, v in metrics.get("test", {}).items() if isinstance(v, (int, float))}
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["depression-detection", "mental-health", "explainability", "depdetect", "custom_code"],
        license="apache-2.0",
        base_model=base_model,
        language=["en"],
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "hybrid.md"),
        model_name=f"depdetect Hybrid ({'PTLM' + (' + BiLSTM' if config.use_bilstm else '') + (' + CNN' if config.use_cnn else '')})",
        base_model=base_model or config.encoder_config.model_type,
        lstm=f"{config.lstm_hidden_size} units per direction" if config.use_bilstm else "disabled",
        cnn=f"kernels {tuple(config.cnn_kernel_sizes)}, {config.cnn_num_filters} filters each" if config.use_cnn else "disabled",
        fc_hidden_size=config.fc_hidden_size,
        max_length=config.max_length,
        depdetect_version=__version__,
        data_description=data_description,
        split_description=split_description,
        training_description=training_description,
        test_metrics=test,
        best_epoch=metrics.get("best_epoch"),
        metric_for_best_model=metrics.get("metric_for_best_model", "f1"),
        repo_or_path=repo_or_path,
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
    )


def dual_encoder_card(
    config,
    metrics: dict[str, Any],
    role: str,
    data_description: str,
    training_description: str,
    encoders: tuple[str, str],
    repo_or_path: str = "path/to/this/folder",
    base_model: str | None = None,
) -> ModelCard:
    """The README.md of a saved dual encoder (donor or receiver); `encoders` names the prefix and sentence encoders."""
    from . import __version__

    test = {k: v for k, v in metrics.get("test", {}).items() if isinstance(v, (int, float)) and not k.startswith("recall_interviews")}
    regression = config.num_labels == 1
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification" if not regression else None,
        tags=["depression-detection", "mental-health", "explainability", "depdetect", "custom_code", "multiple-instance-learning"],
        license="apache-2.0",
        language=["en"],
        base_model=base_model,
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "dual_encoder.md"),
        role=role,
        regression=regression,
        prefix_encoder=encoders[0],
        sentence_encoder=encoders[1],
        prefix_length=config.prefix_length,
        projection_size=config.projection_size,
        lstm_hidden_size=config.lstm_hidden_size,
        max_turn_length=config.max_turn_length,
        depdetect_version=__version__,
        data_description=data_description,
        training_description=training_description,
        test_metrics=test,
        mhim=metrics.get("mhim"),
        repo_or_path=repo_or_path,
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
    )


def doris_card(config, metrics: dict[str, Any], data_description: str, repo_or_path: str = "path/to/this/folder") -> ModelCard:
    """The README.md of a saved DORIS pipeline."""
    from . import __version__

    test = {k: v for k, v in metrics.get("test", {}).items() if isinstance(v, (int, float))}
    versions = config.versions or {}
    card_data = ModelCardData(
        library_name="depdetect",
        pipeline_tag="text-classification",
        tags=["depression-detection", "mental-health", "explainability", "depdetect", "xgboost", "doris"],
        license="apache-2.0",
        language=["en"],
        base_model=None if Path(config.embedder).exists() else config.embedder,  # a Hub id, not a local folder
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "doris.md"),
        embedder=config.embedder,
        annotator=config.annotator,
        uses_llm=config.annotator != "embedding",
        k=config.k,
        m=config.m,
        ablate=config.ablate,
        n_estimators=config.xgboost.get("n_estimators"),
        threshold=config.threshold,
        depdetect_version=__version__,
        data_description=data_description,
        test_metrics=test,
        repo_or_path=repo_or_path,
        xgboost_version=versions.get("xgboost", "unknown"),
        st_version=versions.get("sentence-transformers", "unknown"),
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
    )
