"""Metrics: classification scores, interview metrics, calibration and bootstrap intervals.

Pure functions over numpy arrays (scikit-learn underneath), so they run offline and are tested on
hand-computed cases.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

#: The project's own metrics as evaluate modules (loaded offline with `evaluate.load(path)`).
EVALUATE_METRICS_DIR = Path(__file__).parent / "evaluate_metrics"


@functools.cache
def load_metric(name: str):
    """One of depdetect's evaluate modules (auprc, rmse_mae, attention_entropy, recall_at_k, calibration,
    conformal_coverage, erde, f_latency, eraser_faithfulness), from its folder."""
    import evaluate

    folder = EVALUATE_METRICS_DIR / name
    if not (folder / f"{name}.py").is_file():
        raise ValueError(f"Unknown depdetect metric {name!r}; available: "
                         f"{sorted(p.name for p in EVALUATE_METRICS_DIR.iterdir() if p.is_dir())}.")
    return evaluate.load(str(folder))


def _floats(values) -> list[float]:
    return np.asarray(values, dtype=np.float64).ravel().tolist()


def classification_metrics(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float | None = None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1, AUROC and AUPRC.

    Args:
        probabilities: (N, C) class probabilities.
        labels: (N,) class indices.
        threshold: binary tasks only: predict the positive class at P(positive) >= threshold (default: argmax).

    Binary tasks score the positive class (index 1, "depression"); more classes use macro averages and
    one-vs-rest AUROC/AUPRC. AUROC/AUPRC are NaN when the labels hold a single class (undefined there).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(
            f"probabilities must be (N, C) and labels (N,), got {probabilities.shape} and {labels.shape}."
        )
    if labels.size == 0:
        raise ValueError("No examples to score: the evaluation split is empty.")
    num_classes = probabilities.shape[1]
    binary = num_classes == 2
    if threshold is not None and not binary:
        raise ValueError("`threshold` applies to binary tasks only.")
    predictions = probabilities.argmax(axis=1) if threshold is None else (probabilities[:, 1] >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels,
        predictions,
        average="binary" if binary else "macro",
        labels=None if binary else list(range(num_classes)),
        zero_division=0,
    )
    out = {
        "accuracy": float(accuracy_score(labels, predictions)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auroc": math.nan,
        "auprc": math.nan,
    }
    if len(np.unique(labels)) < 2:
        warnings.warn("Only one class in the labels: AUROC and AUPRC are undefined (NaN).", stacklevel=2)
        return out
    if binary:
        out["auroc"] = float(roc_auc_score(labels, probabilities[:, 1]))
        out["auprc"] = load_metric("auprc").compute(
            predictions=probabilities[:, 1].tolist(), references=labels.tolist()
        )["auprc"]
    else:
        onehot = np.eye(num_classes)[labels]
        present = onehot.sum(axis=0) > 0
        out["auroc"] = float(roc_auc_score(onehot[:, present], probabilities[:, present], average="macro"))
        out["auprc"] = float(average_precision_score(onehot[:, present], probabilities[:, present], average="macro"))
    return out


# -- interview-level (dual encoder) metrics ---------------------------------------------------------------------


def rmse(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Root mean squared error (the `rmse_mae` evaluate module)."""
    return load_metric("rmse_mae").compute(predictions=_floats(predictions), references=_floats(targets))["rmse"]


def mae(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Mean absolute error (the `rmse_mae` evaluate module)."""
    return load_metric("rmse_mae").compute(predictions=_floats(predictions), references=_floats(targets))["mae"]


def attention_entropy(attentions: Sequence[np.ndarray]) -> float:
    """Mean over interviews of the entropy (natural log) of the attention over their real, unmasked turns.

    Args:
        attentions: one 1-D array per interview holding the attention of its turns (zeros for masked turns are
            skipped; the rest is renormalised to sum to 1). Uniform attention over n turns gives log(n).

    Computed by the `attention_entropy` evaluate module.
    """
    rows = [_floats(w) for w in attentions]
    return load_metric("attention_entropy").compute(predictions=rows)["attention_entropy"]


def recall_at_k(
    attentions: Sequence[np.ndarray], importance: Sequence[np.ndarray], k: float
) -> tuple[float, int, int]:
    """Recall@k: the share of an interview's important turns among its top ceil(k * n) turns by attention.

    Args:
        attentions: one 1-D array per interview (n turns).
        importance: one 1-D array per interview: 1 important, 0 not, -1 unknown.
        k: fraction of turns in (0, 1].

    Returns:
        (mean recall over scored interviews, interviews scored, interviews skipped). Interviews are skipped when
        any turn's importance is unknown or none is important (recall is undefined there). Computed by the
        `recall_at_k` evaluate module.
    """
    if not 0 < k <= 1:
        raise ValueError(f"`k` must be a fraction in (0, 1], got {k}.")
    out = load_metric("recall_at_k").compute(
        predictions=[_floats(w) for w in attentions],
        references=[[int(v) for v in np.asarray(labels).ravel()] for labels in importance],
        k=[k],
    )
    return out[f"recall@{int(round(k * 100))}%"], out["interviews_scored"], out["interviews_skipped"]


def interview_metrics(
    scores: np.ndarray,
    targets: np.ndarray,
    attentions: Sequence[np.ndarray],
    importance: Sequence[np.ndarray] | None = None,
    ks: Sequence[float] = (0.1, 0.3, 0.5),
    num_labels: int = 1,
) -> dict[str, float]:
    """Everything the dual encoder reports: RMSE and MAE (regression) or the classification metrics on the
    positive-class probability, attention entropy, and Recall@k where importance labels exist."""
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    if num_labels == 1:
        out = {"rmse": rmse(scores, targets), "mae": mae(scores, targets)}
    else:
        out = classification_metrics(np.stack([1 - scores, scores], axis=1), targets.astype(int))
    out["attention_entropy"] = attention_entropy(attentions)
    if importance is not None:
        for k in ks:
            value, used, skipped = recall_at_k(attentions, importance, k)
            out[f"recall@{int(round(k * 100))}%"] = value
        out["recall_interviews_scored"], out["recall_interviews_skipped"] = int(used), int(skipped)  # counts
    return out


def prediction_metrics(
    outputs: Sequence[dict], records: Sequence[dict], threshold: float | None = None
) -> dict[str, float]:
    """Classification metrics of predictions that carry `probability` = P(depression), against records' `label`
    (how `depdetect evaluate` scores the Hybrid and DORIS); `threshold` as in classification_metrics."""
    p = np.array([o["probability"] for o in outputs], dtype=np.float64)
    y = np.array([r["label"] for r in records], dtype=int)
    return classification_metrics(np.stack([1 - p, p], axis=1), y, threshold=threshold)


# -- calibration, intervals, uncertainty --------------------------------------------------------------------------

#: ECE bins: 15 equal-width bins (Guo et al. 2017, the usual reading of "ECE"), so numbers compare with the literature
ECE_BINS = 15


def _binary_inputs(probabilities, labels) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(int).ravel()
    if p.shape != y.shape:
        raise ValueError(f"probabilities and labels must have the same length, got {p.size} and {y.size}.")
    if p.size == 0:
        raise ValueError("No examples to score: the evaluation split is empty.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"Calibration metrics need binary labels (0/1), got {sorted(set(y.tolist()))}.")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be finite numbers in [0, 1].")
    return p, y


def brier_score(probabilities, labels) -> float:
    """Mean squared difference between P(positive) and the 0/1 label (lower is better; 0.25 for a constant 0.5)."""
    p, y = _binary_inputs(probabilities, labels)
    return float(np.mean((p - y) ** 2))


def reliability_bins(probabilities, labels, bins: int = ECE_BINS, strategy: str = "width") -> list[dict]:
    """The reliability diagram's bins: for each non-empty bin its mean predicted probability (`confidence`), the
    observed share of positives (`positive_rate`) and its size. `strategy` "width" cuts [0, 1] into equal-width
    bins, "mass" into bins holding equal numbers of examples (the `calibration` evaluate module)."""
    p, y = _binary_inputs(probabilities, labels)
    return _calibration(p, y, bins, strategy)["bins"]


def _calibration(p: np.ndarray, y: np.ndarray, bins: int, strategy: str) -> dict:
    if strategy not in ("width", "mass"):
        raise ValueError(f"`strategy` must be 'width' or 'mass', got {strategy!r}.")
    return load_metric("calibration").compute(predictions=p.tolist(), references=y.tolist(), n_bins=bins,
                                              strategy=strategy)


def expected_calibration_error(probabilities, labels, bins: int = ECE_BINS, strategy: str = "width") -> float:
    """ECE of P(positive): the size-weighted mean over bins of |mean predicted probability - share of positives|
    (the `calibration` evaluate module).

    15 equal-width bins by default (Guo et al. 2017); `strategy="mass"` uses equal-mass bins, which spread the
    examples evenly when most probabilities sit near 0 (rare positives)."""
    p, y = _binary_inputs(probabilities, labels)
    return _calibration(p, y, bins, strategy)["ece"]


def interval_coverage(low, high, targets) -> dict[str, float]:
    """Share of targets inside [low, high] (bounds included) and the mean width of the intervals (the
    `conformal_coverage` evaluate module)."""
    low, high = np.asarray(low, dtype=np.float64).ravel(), np.asarray(high, dtype=np.float64).ravel()
    targets = np.asarray(targets, dtype=np.float64).ravel()
    if not low.size == high.size == targets.size:
        raise ValueError(f"low, high and targets must have one value per example, got {low.size}, {high.size}, "
                         f"{targets.size}.")
    if targets.size == 0:
        raise ValueError("No examples to score: the evaluation split is empty.")
    return load_metric("conformal_coverage").compute(predictions=np.stack([low, high], axis=1).tolist(),
                                                     references=targets.tolist())


def bootstrap_intervals(score, size: int, resamples: int = 1000, seed: int = 0,
                        confidence: float = 0.95) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of every number `score(indices)` returns.

    Args:
        score: called with an index array (a resample, drawn with replacement, of `range(size)`); returns a dict
            of numbers. NaN results (e.g. AUROC of a resample holding one class) are left out of that metric.
        size: how many units (texts, interviews, users) there are to resample.
        resamples: bootstrap resamples (1,000 by default).
        seed: the resamples' seed (same seed, same intervals).
        confidence: the interval's level (0.95: the 2.5th and 97.5th percentiles).

    Returns:
        {name: [low, high]} ([nan, nan] where fewer than half the resamples gave a number).
    """
    if size < 1:
        raise ValueError("No examples to resample.")
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError(f"`resamples` must be >= 1 and `confidence` in (0, 1), got {resamples}, {confidence}.")
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-class resamples warn; they are counted out below
        for _ in range(resamples):
            for key, value in score(rng.integers(0, size, size)).items():
                values.setdefault(key, []).append(float(value))
    tail = (1 - confidence) / 2 * 100
    out = {}
    for key, row in values.items():
        row = np.asarray(row)
        row = row[~np.isnan(row)]
        out[key] = ([float(np.percentile(row, tail)), float(np.percentile(row, 100 - tail))]
                    if row.size >= resamples / 2 else [math.nan, math.nan])
    return out


def mean_interval(values, confidence: float = 0.95) -> list[float]:
    """Student-t interval of the mean of `values` (e.g. one metric over cross-validation folds); NaNs left out."""
    from scipy.stats import t

    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return [math.nan, math.nan]
    half = t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return [float(values.mean() - half), float(values.mean() + half)]


def binary_metrics(probabilities, labels, threshold: float = 0.5) -> dict[str, float]:
    """classification_metrics for P(positive) without the evaluate-module round trip and without warnings (the
    bootstrap calls it a thousand times); NaN AUROC/AUPRC when the labels hold one class."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    predicted = p >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    out = {
        "accuracy": float((predicted == (y == 1)).mean()),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auroc": math.nan,
        "auprc": math.nan,
    }
    if 0 < y.sum() < y.size:
        out["auroc"], out["auprc"] = _ranking_scores(p, y)
    return out


def _ranking_scores(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """AUROC (Mann-Whitney, ties counted half) and average precision (scikit-learn's definition: precision at each
    distinct score, weighted by the recall it adds), in numpy: the bootstrap's inner loop."""
    from scipy.stats import rankdata

    positives = int(y.sum())
    negatives = y.size - positives
    auroc = (rankdata(p)[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    order = np.argsort(-p, kind="mergesort")
    ranked, hits = p[order], y[order]
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]  # last index of each distinct score
    tps = np.cumsum(hits)[last]
    precision = tps / (last + 1)
    recall = tps / positives
    return float(auroc), float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def regression_metrics(predictions, targets) -> dict[str, float]:
    """RMSE and MAE without the evaluate-module round trip (the bootstrap's inner loop)."""
    error = np.asarray(predictions, dtype=np.float64) - np.asarray(targets, dtype=np.float64)
    return {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error)))}
