"""The Hybrid's part of `depdetect predict` / `evaluate` (the `depdetect.inference.Predictor` protocol): load a
saved folder, check one input record, predict a batch, score predictions against labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from ..audit import label_word_audit
from ..data import POST_LABELS, normalize_labels
from ..metrics import prediction_metrics
from ..schemas import check_text
from .configuration_hybrid import HybridConfig
from .modeling_hybrid import HybridForSequenceClassification
from .pipeline_hybrid import DepressionDetectionPipeline, kept_words_probabilities, token_words


def load_predictor(folder: str | Path, device: Any = None) -> DepressionDetectionPipeline:
    """The depression-detection pipeline of a saved Hybrid (depdetect's own classes: no remote code runs), or of
    its ONNX export (`depdetect export`: run by ONNX Runtime on the CPU, predictions without explanations)."""
    from ..export import OnnxModel, is_export

    if is_export(folder):
        config = HybridConfig.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, config=config)
        return DepressionDetectionPipeline(model=OnnxModel(folder, config), tokenizer=tokenizer, device="cpu")
    model = HybridForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, config=model.config)  # config given: no trust question
    return DepressionDetectionPipeline(model=model, tokenizer=tokenizer, device=device)


def check_record(record: Any, where: str, labelled: bool, text_column: str = "text", **_) -> dict:
    """One input row: a dict with the text (and `label` to evaluate), or a bare string (JSON Lines)."""
    if isinstance(record, str):
        record = {text_column: record}
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a record with `{text_column}`, got {type(record).__name__}.")
    if text_column not in record:
        raise ValueError(f"{where} has no `{text_column}` field (fields: {sorted(record)}); pass --text_column.")
    out = {"text": check_text(record[text_column], f"{where} `{text_column}`"), "id": record.get("id")}
    if labelled:
        out["label"] = normalize_labels([record.get("label")], POST_LABELS, rows=[where])[0]
    return out


def predict(predictor: DepressionDetectionPipeline, records: list[dict], explain: bool = True,
            uncalibrated: bool = False) -> list[dict]:
    """Predictions for checked records: label, P(depression) (calibrated), the label's score and, with `explain`,
    the words; `uncalibrated` adds the uncalibrated P(depression)."""
    if explain and getattr(predictor.model, "exported", False):
        raise ValueError("An exported (ONNX) model predicts labels and probabilities only: its explanations need the "
                         "torch model. Pass --no_explain, or predict with the trained folder it was exported from.")
    return predictor([r["text"] for r in records], batch_size=len(records), explain=explain,
                     return_uncalibrated=uncalibrated)


def score_predictions(outputs: list[dict], records: list[dict], predictor) -> dict:
    """`depdetect evaluate`: classification metrics of P(depression) against the labels, decided at the model's
    saved threshold (the argmax for models saved without one)."""
    config = predictor.model.config
    threshold = config.decision_threshold if config.num_labels == 2 else None
    return prediction_metrics(outputs, records, threshold=threshold)


def evaluation_inputs(outputs: list[dict], records: list[dict], predictor) -> dict | None:
    """What `depdetect evaluate` reports on beyond point metrics (two-class models only)."""
    config = predictor.model.config
    if config.num_labels != 2:
        return None
    return {"task": "classification", "y": [r["label"] for r in records],
            "uncalibrated": [o.get("uncalibrated_probability", o["probability"]) for o in outputs],
            "calibration": config.calibration, "decision_threshold": config.decision_threshold,
            "threshold_rule": config.threshold_rule, "documents": [[r["text"]] for r in records]}


def attributions(predictor: DepressionDetectionPipeline, records: list[dict], method: str,
                 batch_size: int = 16) -> list[list[float]]:
    """One weight per word (the pipeline's `tokens`) per record, by `method` (see `SPEC.explanations`)."""
    outputs = predictor([r["text"] for r in records], batch_size=batch_size, explain=method)
    return [[t[method] for t in out["tokens"]] for out in outputs]


def unit_scorer(predictor: DepressionDetectionPipeline, record: dict):
    """(scorer, absolute): P(the label the pipeline gives the whole text) for kept-word lists, the other words'
    tokens deleted (depdetect.faithfulness); changes count with their sign."""
    inputs = predictor.preprocess(record["text"])
    words, _ = token_words(inputs["text"], inputs["offset_mapping"][0].tolist(), inputs["word_ids"][0].tolist())
    model = predictor.model
    input_ids = inputs["input_ids"][0].to(model.device)
    with torch.no_grad():
        target = predictor._label_index(model(input_ids=input_ids[None]).logits[0])
    pad = model.config.encoder_config.pad_token_id
    return (lambda kept_lists: kept_words_probabilities(model, input_ids, words, kept_lists, target, pad)), False


def audit(predictor: DepressionDetectionPipeline, records: list[dict], outputs: list[dict], words, resamples: int,
          seed: int, batch_size: int = 32) -> dict:
    """The shortcut audit of texts (depdetect.audit): the metrics again with the label words deleted."""
    config = predictor.model.config
    if config.num_labels != 2:
        return {"note": "the audit covers two-class models"}

    def rescore(masked: list[list[str]]) -> list[float]:
        return [o["probability"] for o in predictor([m[0] for m in masked], batch_size=batch_size, explain=False)]

    threshold = config.decision_threshold if config.decision_threshold is not None else 0.5
    return {"label_words": label_word_audit([[r["text"]] for r in records], words, rescore,
                                            [r["label"] for r in records], [o["probability"] for o in outputs],
                                            resamples, seed, threshold)}
