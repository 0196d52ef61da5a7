"""DORIS's part of `depdetect predict` / `evaluate` (the `depdetect.inference.Predictor` protocol): load a saved
pipeline, check one user, predict a batch, score predictions against labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data import check_user_record
from ..embedder import resolve_saved_embedder
from ..metrics import prediction_metrics
from .pipeline import DorisPipeline


def load_predictor(folder: str | Path, device: Any = None) -> DorisPipeline:
    """A saved DORIS pipeline; embeddings are computed afresh (no cache is written beside the model)."""
    pipeline = DorisPipeline.from_pretrained(folder)
    if device is not None:
        pipeline.embedder = resolve_saved_embedder(pipeline.config.embedder, folder, device=str(device))
    return pipeline


def check_record(record: Any, where: str, labelled: bool, **_) -> dict:
    """One user of the `users` schema (a `label` to evaluate)."""
    return check_user_record(record, where, labelled)


def predict(predictor: DorisPipeline, records: list[dict], explain: bool = True,
            uncalibrated: bool = False) -> list[dict]:
    """Label and P(depression) (calibrated) per user and, with `explain`, the symptoms with their posts, the mood
    course and the written explanation; `uncalibrated` keeps the trees' own P(depression) too."""
    if explain:
        return predictor.explain_batch(records, return_uncalibrated=uncalibrated)
    threshold, names = predictor.config.decision_threshold, predictor.config.label_names
    raw = predictor.predict_proba(records, calibrated=False)
    outputs = [{"label": names[int(p >= threshold)], "probability": float(p)} for p in predictor.calibrate(raw)]
    if uncalibrated:
        for out, r in zip(outputs, raw):
            out["uncalibrated_probability"] = float(r)
    return outputs


def score_predictions(outputs: list[dict], records: list[dict], predictor: DorisPipeline) -> dict:
    """`depdetect evaluate`: classification metrics of P(depression) against the labels, decided at the
    pipeline's threshold (as `DorisPipeline.evaluate` does)."""
    return prediction_metrics(outputs, records, threshold=predictor.config.decision_threshold)


def evaluation_inputs(outputs: list[dict], records: list[dict], predictor: DorisPipeline) -> dict:
    """What `depdetect evaluate` reports on beyond point metrics: calibration, threshold, baselines on the posts."""
    config = predictor.config
    return {"task": "classification", "y": [r["label"] for r in records],
            "uncalibrated": [o.get("uncalibrated_probability", o["probability"]) for o in outputs],
            "calibration": config.calibration or None, "decision_threshold": config.decision_threshold,
            "threshold_rule": config.threshold_rule,
            "documents": [[p["text"] for p in r["posts"]] for r in records]}
