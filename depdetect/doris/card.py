"""DORIS's model card: its template's fields from the saved config and metrics.json."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard

from ..cards import CLASSIFICATION_METRICS, TEMPLATES, card_data, common_fields, metric_numbers, render_card
from .config import DorisConfig


def doris_card(config, metrics: dict, repo_or_path: str = "path/to/this/folder", revision: str | None = None,
               template: str | Path | None = None) -> ModelCard:
    """The card of a saved DORIS pipeline (versions from the config: those the trees were fitted with)."""
    card = metrics.get("card", {})
    numbers = metric_numbers(metrics, CLASSIFICATION_METRICS)
    base_model = card.get("base_model") or (None if Path(config.embedder).exists() else config.embedder)
    card = {**card, "base_model": base_model, "versions": config.versions or {}}
    data = card_data("depdetect DORIS", numbers, "text-classification", "Depression detection (user)",
                     card, "text-classification", "depdetect", ["xgboost", "doris"])
    return render_card(
        template or TEMPLATES / "doris.md", data,
        **common_fields("doris", {**metrics, "card": card}, repo_or_path, revision, numbers),
        embedder=config.embedder,
        annotator=config.annotator,
        uses_llm=config.annotator != "embedding",
        k=config.k,
        m=config.m,
        ablate=config.ablate,
        head_description=head_description(config),
        threshold=config.decision_threshold,
        xgboost_version=card["versions"].get("xgboost", "unknown"),
        st_version=card["versions"].get("sentence-transformers", "unknown"),
    )


def head_description(config) -> str:
    """What the card says about the classifier: the paper's trees or the logistic regression, and how it was
    chosen."""
    selection = config.head_selection or {}
    if config.head == "logistic":
        text = ("an L2-regularised logistic regression on the standardised features (not the paper's trees; "
                f"C={selection.get('C', 'n/a')})")
    else:
        text = f"gradient-boosted trees (the paper's head; XGBoost, {config.xgboost.get('n_estimators')} trees)"
    scores = selection.get("cv_auprc")
    if scores:
        rule = selection.get("rule", "mean AUPRC over folds of the training users")
        text += (", chosen over the " + ("trees" if config.head == "logistic" else "logistic regression")
                 + f" by {rule} (" + ", ".join(f"{head} {value:.3f}" for head, value in scores.items()) + ")")
    return text


def folder_card(folder: Path, metrics: dict, repo_or_path: str, revision: str | None = None,
                template: str | Path | None = None) -> ModelCard:
    """The card of a saved DORIS folder (the registry's `card`)."""
    return doris_card(DorisConfig.from_json_file(folder / "doris_config.json"), metrics, repo_or_path, revision,
                      template)
