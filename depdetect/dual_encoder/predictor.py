"""The dual encoder's part of `depdetect predict` / `evaluate` (the `depdetect.inference.Predictor` protocol):
load a saved folder, check one interview, predict a batch, score predictions against scores or labels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from ..metrics import interview_metrics, prediction_metrics
from ..schemas import check_interview
from .configuration_dual_encoder import DualEncoderConfig
from .data import check_score_and_label
from .modeling_dual_encoder import DualEncoderForDepressionScoring
from .pipeline_dual_encoder import DepressionScoringPipeline, kept_turns_outputs, target_scores


def load_predictor(folder: str | Path, device: Any = None) -> DepressionScoringPipeline:
    """The depression-scoring pipeline of a saved dual encoder (depdetect's own classes: no remote code runs), or of
    its ONNX export (`depdetect export`: run by ONNX Runtime on the CPU, attention and occlusion included)."""
    from ..export import is_export

    if is_export(folder):
        from .export import OnnxDualEncoder

        config = DualEncoderConfig.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, config=config)
        return DepressionScoringPipeline(model=OnnxDualEncoder(folder, config), tokenizer=tokenizer, device="cpu")
    model = DualEncoderForDepressionScoring.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, config=model.config)  # config given: no trust question
    return DepressionScoringPipeline(model=model, tokenizer=tokenizer, device=device)


def check_record(record: Any, where: str, labelled: bool, **_) -> dict:
    """One interview: an `interviews` row (a dict with `turns`; `score`/`label` to evaluate) or a bare turn list."""
    if isinstance(record, list):
        record = {"turns": record}
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an interview (a dict with `turns`), got {type(record).__name__}.")
    out = {"turns": check_interview(record, where), "interview_id": record.get("interview_id")}
    if labelled:
        out["score"], out["label"] = check_score_and_label(record, where, require_score=False)
        if math.isnan(out["score"]) and out["label"] == -1:
            raise ValueError(f"{where} has neither a `score` nor a `label` to evaluate against.")
    return out


def predict(predictor: DepressionScoringPipeline, records: list[dict], explain: bool = True,
            uncalibrated: bool = False) -> list[dict]:
    """Severity and its interval (or label and P(depression)) per interview and, with `explain`, the attention per
    turn; `uncalibrated` adds the uncalibrated P(depression) of classification models."""
    outputs = predictor([{"turns": r["turns"]} for r in records], batch_size=len(records),
                        return_uncalibrated=uncalibrated, explain=explain or True)
    for out in outputs:
        turns = out.pop("turns")
        if explain:
            out["turns"] = [{k: v for k, v in t.items() if k not in ("prompt", "response")} for t in turns]
    return outputs


def score_predictions(outputs: list[dict], records: list[dict], predictor: DepressionScoringPipeline) -> dict:
    """`depdetect evaluate`: RMSE/MAE (regression) or classification metrics, attention entropy, Recall@k."""
    model_config = predictor.model.config
    num_labels = model_config.num_labels
    if num_labels == 1:
        scores = np.array([o["severity"] for o in outputs])
        targets = np.array([r["score"] for r in records])
        if np.isnan(targets).any():
            raise ValueError("A regression model needs a `score` for every interview to evaluate against.")
    else:
        scores = np.array([o["probability"] for o in outputs])
        targets = np.array([r["label"] if r["label"] >= 0 else int(r["score"] >= model_config.score_threshold)
                            for r in records])
    attentions = [np.array([t["attention"] for t in o["turns"]]) for o in outputs]
    importance = [np.array([t["importance"] for t in r["turns"]]) for r in records]
    metrics = interview_metrics(scores, targets, attentions, importance, num_labels=num_labels)
    if num_labels == 2 and model_config.decision_threshold is not None:  # decided where the model decides
        metrics.update(prediction_metrics(outputs, [{"label": int(y)} for y in targets],
                                          threshold=model_config.decision_threshold))
    return metrics


def evaluation_inputs(outputs: list[dict], records: list[dict], predictor: DepressionScoringPipeline) -> dict:
    """What `depdetect evaluate` reports on beyond point metrics: conformal coverage (regression), calibration and
    threshold (classification), baselines on the responses."""
    config = predictor.model.config
    documents = [[t["response"] for t in r["turns"]] for r in records]
    if config.num_labels == 1:
        return {"task": "regression", "y": [r["score"] for r in records],
                "prediction": [o["severity"] for o in outputs], "conformal": config.conformal,
                "documents": documents}
    labels = [r["label"] if r["label"] >= 0 else int(r["score"] >= config.score_threshold) for r in records]
    return {"task": "classification", "y": labels,
            "uncalibrated": [o.get("uncalibrated_probability", o["probability"]) for o in outputs],
            "calibration": config.calibration, "decision_threshold": config.decision_threshold,
            "threshold_rule": config.threshold_rule,
            "documents": documents}


def attributions(predictor: DepressionScoringPipeline, records: list[dict], method: str,
                 batch_size: int = 8) -> list[list[float]]:
    """One weight per turn per interview by `method` (`attention` or `occlusion`; occlusion of a severity by the
    size of the change, as faithfulness measures it)."""
    outputs = predictor([{"turns": r["turns"]} for r in records], batch_size=batch_size, explain=method)
    size = method == "occlusion" and predictor.model.config.num_labels == 1
    return [[abs(t[method]) if size else t[method] for t in out["turns"]] for out in outputs]


def unit_scorer(predictor: DepressionScoringPipeline, record: dict):
    """(scorer, absolute): the severity (regression: changes count by size) or P(the label the pipeline gives the
    whole interview) for kept-turn lists, the other turns hidden from the model (depdetect.faithfulness)."""
    inputs = predictor.preprocess({"turns": record["turns"]})
    inputs.pop("turns")
    model = predictor.model
    inputs = {k: v.to(model.device) for k, v in inputs.items()}
    target = None
    if model.config.num_labels == 2:
        every = list(range(inputs["input_ids"].shape[1]))
        target = predictor._label_index(kept_turns_outputs(model, inputs, [every])[0])
    return (lambda kept_lists: target_scores(kept_turns_outputs(model, inputs, kept_lists), target),
            model.config.num_labels == 1)


def audit(predictor: DepressionScoringPipeline, records: list[dict], outputs: list[dict], words, resamples: int,
          seed: int, batch_size: int = 8) -> dict:
    """The shortcut audit of interviews (depdetect.audit): the metrics on the responses only (prompts blanked) and
    on the prompts only (each response reduced to "."), beside the metrics on whole interviews."""
    out = {"whole_interviews": score_predictions(outputs, records, predictor),
           "model_reads_prompts": getattr(predictor.model.config, "prompts", "keep") == "keep"}
    variants = {"responses_only": lambda t: {**t, "prompt": ""}, "prompts_only": lambda t: {**t, "response": "."}}
    for name, change in variants.items():
        changed = [{**r, "turns": [change(t) for t in r["turns"]]} for r in records]
        outputs = [o for start in range(0, len(changed), batch_size)
                   for o in predict(predictor, changed[start : start + batch_size], explain=True)]
        out[name] = score_predictions(outputs, changed, predictor)
    return out
