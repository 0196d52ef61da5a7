"""DORIS's part of `depdetect predict` / `evaluate` (the `depdetect.inference.Predictor` protocol): load a saved
pipeline, check one user, predict a batch, score predictions against labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..audit import history_shape_baseline, label_word_audit
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
        outputs = predictor.explain_batch(records, return_uncalibrated=uncalibrated)
        if isinstance(explain, str) and "occlusion" in explain.split(","):
            for out, weights in zip(outputs, attributions(predictor, records, "occlusion")):
                out["posts"] = [{"index": i, "occlusion": w} for i, w in enumerate(weights)]
        return outputs
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


def evidence_weights(info: dict) -> list[float]:
    """One weight per post (input order) that ranks the posts the explanation cites first: symptom evidence (2 +
    its highest similarity to a symptom it is cited for), then the mood course's posts (1 + their risk: mean
    similarity to the symptom descriptions, in [-1, 1] rescaled to [0, 1)), then the rest by that risk
    (below 1)."""
    annotated, similarity, emotional = info["annotated"], info["similarity"], info["emotional"]
    risk = (similarity.mean(axis=1) + 1) / 2 * 0.999
    return [2 + float(similarity[i][annotated[i] > 0].max()) if annotated[i].any()
            else (1 + float(risk[i]) if emotional[i] else float(risk[i])) for i in range(len(risk))]


def attributions(predictor: DorisPipeline, records: list[dict], method: str) -> list[list[float]]:
    """One weight per post per user by `method`: `evidence` (the posts the explanation cites, see
    `evidence_weights`) or `occlusion` (P(the label given) minus the same with the post left out)."""
    if method == "evidence":
        _, _, infos = predictor.featurize(records, details=True)
        return [evidence_weights(info) for info in infos]
    if method != "occlusion":
        raise ValueError(f"Unknown explanation method {method!r} for DORIS: evidence or occlusion.")
    out = []
    for record in records:
        score, _ = unit_scorer(predictor, record)
        every = list(range(len(record["posts"])))
        values = score([every] + [every[:i] + every[i + 1:] for i in every]) if len(every) > 1 else [0.0, 0.0]
        out.append([values[0] - v for v in values[1:]])
    return out


def unit_scorer(predictor: DorisPipeline, record: dict):
    """(scorer, absolute): the trees' P(the label the pipeline gives the whole history) for kept-post lists, the
    other posts left out of the history (depdetect.faithfulness)."""
    posts = record["posts"]
    full = float(predictor.predict_proba([record])[0])
    depressed = full >= predictor.config.decision_threshold

    def score(kept_lists: list[list[int]]) -> list[float]:
        users = [{**record, "posts": [posts[i] for i in kept]} for kept in kept_lists]
        p = predictor.predict_proba(users, calibrated=False)
        return [float(x) if depressed else 1 - float(x) for x in p]

    return score, False


def audit(predictor: DorisPipeline, records: list[dict], outputs: list[dict], words, resamples: int,
          seed: int) -> dict:
    """The shortcut audit of users (depdetect.audit): the metrics again with the label words deleted from every
    post, and what the history's shape alone predicts."""
    def rescore(masked: list[list[str]]) -> list[float]:
        users = [{**r, "posts": [{**p, "text": t} for p, t in zip(r["posts"], texts)]}
                 for r, texts in zip(records, masked)]
        return predictor.predict_proba(users).tolist()

    y = [r["label"] for r in records]
    return {"label_words": label_word_audit([[p["text"] for p in r["posts"]] for r in records], words, rescore, y,
                                            [o["probability"] for o in outputs], resamples, seed,
                                            predictor.config.decision_threshold),
            "history_shape": history_shape_baseline(records, y, resamples, seed)}
