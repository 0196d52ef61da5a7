"""Calibration, decision thresholds and conformal intervals, all fitted on the validation split.

* Temperature scaling (Guo et al. 2017) for the neural classifiers (the Hybrid, the dual encoder's classification
  variant): one number T, P = softmax(log p / T). It never changes the ranking (AUROC, AUPRC, the argmax), only how
  confident the probabilities are; the class weights the Hybrid trains with push P(depression) up, T undoes that.
* Platt scaling for DORIS's trees: P = sigmoid(a * logit(p) + b), fitted with Platt's (1999) smoothed targets
  (N+ + 1)/(N+ + 2) and 1/(N- + 2), which keep it sane with few positive users. Not isotonic regression: with 10-20
  positive validation users an isotonic step function has a handful of steps, maps whole ranges to 0 or 1, and
  ties users the trees had ranked apart (AUROC/AUPRC would change); Platt has two parameters and keeps the order.
* Threshold rules: `0.5`, `f1` (the threshold of best F1), `recall@R` (the highest threshold whose recall is at
  least R), `precision@P` (the lowest threshold whose precision is at least P, i.e. the most recall at that
  precision), or a number in (0, 1). Chosen on the calibrated validation probabilities.
* Split-conformal intervals for severity scores (Vovk et al. 2005; Lei et al. 2018): q = the ceil((n + 1)c)-th
  smallest absolute validation residual; [score - q, score + q] covers a new interview's true score with
  probability >= c when validation and new interviews are exchangeable.

Every fitting function returns plain numbers and says (in `note`) when it could not fit, in which case the
identity is used: a one-class validation split cannot be calibrated and is reported, not hidden.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .arguments import parse_threshold_rule
from .utils import plural

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


#: fewer examples of a class than this in the validation split: no calibration is fitted (too noisy to help)
MIN_CALIBRATION_EXAMPLES = 10


def _one_class_note(labels: np.ndarray, what: str) -> str | None:
    classes = sorted(set(np.asarray(labels).astype(int).tolist()))
    if len(classes) < 2:
        return (f"the validation split holds a single class ({classes}); {what} was not fitted and the "
                "probabilities are uncalibrated")
    return None


def warn_user(message: str) -> None:
    """A UserWarning about the user's data, shown as one line: no source line of depdetect's under it (which
    `warnings.warn` would print, e.g. `report = classification_report(`, and which says nothing to a user)."""
    warnings.warn_explicit(message, UserWarning, "depdetect", 0, module="depdetect")


def _too_few_note(labels: np.ndarray, what: str, minimum: int) -> str | None:
    """Why `what` cannot be fitted on these labels (one class, or fewer than `minimum` of a class), or None."""
    note = _one_class_note(labels, what)
    if note:
        return note
    counts = np.bincount(np.asarray(labels).astype(int), minlength=2)
    if counts.min() < minimum:
        few = plural(int(counts.min()), "example")
        return (f"the validation split holds only {few} of class {int(counts.argmin())} "
                f"(fewer than {minimum}); {what} fitted on so few is noise (BENCHMARKS.md: a calibration fitted on 5 "
                "positives made the test Brier score worse), so it was not fitted and the probabilities are "
                "uncalibrated (--calibration_min_examples sets the limit)")
    return None


# -- temperature scaling (the Hybrid, the dual encoder's classifier) ------------------------------------------------


def apply_temperature(probabilities, temperature: float) -> np.ndarray:
    """Probabilities of (N, C) (or P(positive) of (N,)) rescaled by temperature T: softmax(log p / T)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if temperature == 1.0:
        return p
    if p.ndim == 1:
        return _sigmoid(_logit(p) / temperature)
    z = np.log(np.clip(p, _EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probabilities, labels, min_examples: int = MIN_CALIBRATION_EXAMPLES) -> dict:
    """The T > 0 minimising the negative log-likelihood of `labels` under softmax(log p / T).

    Args:
        probabilities: (N, C) class probabilities, or (N,) P(positive) of a binary task.
        labels: (N,) class indices.

        min_examples: fewer examples of either class than this: not fitted.

    Returns:
        {"method": "temperature", "temperature": T, "note": None} (T = 1 and a note when it cannot be fitted).
    """
    from scipy.optimize import minimize_scalar

    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    if p.ndim == 1:
        p = np.stack([1 - p, p], axis=1)
    note = _too_few_note(y, "temperature scaling", min_examples)
    if note:
        return {"method": "temperature", "temperature": 1.0, "note": note}
    logp = np.log(np.clip(p, _EPS, 1.0))

    def nll(log_t: float) -> float:
        z = logp / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    best = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return {"method": "temperature", "temperature": float(math.exp(best.x)), "note": None}


# -- Platt scaling (DORIS) ------------------------------------------------------------------------------------------


def apply_platt(p, a: float, b: float) -> np.ndarray:
    """P(positive) mapped through sigmoid(a * logit(p) + b)."""
    return _sigmoid(a * _logit(p) + b)


def fit_platt(p, labels, min_examples: int = MIN_CALIBRATION_EXAMPLES) -> dict:
    """Platt scaling of P(positive) on validation: {"method": "platt", "a", "b", "note"} (identity a=1, b=0 with a
    note when the split holds one class, or fewer than `min_examples` of one). Uses Platt's smoothed targets so a
    handful of positives cannot drive the calibrated probabilities to exactly 0 or 1."""
    from scipy.optimize import minimize

    y = np.asarray(labels).astype(int)
    note = _too_few_note(y, "Platt scaling", min_examples)
    if note:
        return {"method": "platt", "a": 1.0, "b": 0.0, "note": note}
    z = _logit(p)
    positives, negatives = int(y.sum()), int((1 - y).sum())
    target = np.where(y == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def nll(params: np.ndarray) -> float:
        s = params[0] * z + params[1]
        # log(1 + e^s) - t*s, computed stably
        return float(np.mean(np.logaddexp(0.0, s) - target * s))

    best = minimize(nll, x0=np.array([1.0, 0.0]), method="L-BFGS-B")
    return {"method": "platt", "a": float(best.x[0]), "b": float(best.x[1]), "note": None}


def calibrate(p, calibration: dict | None) -> np.ndarray:
    """Apply a fitted calibration (`fit_temperature`'s or `fit_platt`'s dict; None or {} is the identity) to
    P(positive) of shape (N,)."""
    p = np.asarray(p, dtype=np.float64)
    if not calibration:
        return p
    method = calibration.get("method")
    if method == "temperature":
        return apply_temperature(p, float(calibration["temperature"]))
    if method == "platt":
        return apply_platt(p, float(calibration["a"]), float(calibration["b"]))
    raise ValueError(f"Unknown calibration method {method!r} (known: temperature, platt).")


# -- thresholds -----------------------------------------------------------------------------------------------------


def _open_unit(threshold: float) -> float:
    """A threshold inside (0, 1), where configs require it (a probability of exactly 0 or 1 can be chosen)."""
    return float(min(max(threshold, 1e-9), 1 - 1e-9))


def choose_threshold(p, labels, rule: str) -> dict:
    """The decision threshold on P(positive) that `rule` picks on these (validation) probabilities.

    Returns {"threshold_rule", "decision_threshold", "note"}: a fixed rule gives its number; `f1`, `recall@R` and
    `precision@P` search the distinct probabilities (predict positive at p >= threshold). When a target cannot be
    met (precision P is never reached), or the split holds one class, the threshold falls back to 0.5 and `note`
    says why.
    """
    rule = parse_threshold_rule(rule)
    if rule not in ("f1",) and "@" not in rule:
        return {"threshold_rule": rule, "decision_threshold": float(rule), "note": None}
    p = np.asarray(p, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(int).ravel()
    note = _one_class_note(y, f"the threshold rule {rule}")
    if note:
        return {"threshold_rule": rule, "decision_threshold": 0.5,
                "note": note.replace("probabilities are uncalibrated", "threshold is 0.5")}
    candidates = np.unique(p)[::-1]  # high to low: predicted positives grow
    positives = y.sum()
    tp = np.array([((p >= c) & (y == 1)).sum() for c in candidates], dtype=np.float64)
    predicted = np.array([(p >= c).sum() for c in candidates], dtype=np.float64)
    recall = tp / positives
    precision = tp / predicted
    if rule == "f1":
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, _EPS), 0)
        return {"threshold_rule": rule, "decision_threshold": _open_unit(candidates[int(np.argmax(f1))]), "note": None}
    kind, target = rule.split("@")
    target = float(target)
    if kind == "recall":
        ok = np.nonzero(recall >= target - 1e-12)[0]  # recall only grows as the threshold falls: first is highest
        return {"threshold_rule": rule, "decision_threshold": _open_unit(candidates[ok[0]]), "note": None}
    ok = np.nonzero(precision >= target - 1e-12)[0]
    if not ok.size:
        return {"threshold_rule": rule, "decision_threshold": 0.5,
                "note": f"no threshold reaches precision {target:g} on validation (best "
                        f"{precision.max():.3f}); the threshold is 0.5"}
    # the lowest threshold keeping the precision: the most recall
    return {"threshold_rule": rule, "decision_threshold": _open_unit(candidates[ok[-1]]), "note": None}


# -- split-conformal intervals (the dual encoder's severity scores) ------------------------------------------------


def conformal_quantile(predictions, targets, coverage: float = 0.9) -> dict:
    """The split-conformal half-width q for `coverage` from held-out (validation) absolute residuals.

    Returns {"coverage", "quantile", "calibration_size", "note"}. With n residuals the rank is ceil((n + 1) *
    coverage); when it exceeds n (too few validation interviews for that coverage) there is no finite q:
    `quantile` is None (unbounded intervals) and `note` says how many are needed.
    """
    if not 0 < coverage < 1:
        raise ValueError(f"The conformal coverage must be in (0, 1), got {coverage}.")
    residuals = np.abs(np.asarray(predictions, dtype=np.float64) - np.asarray(targets, dtype=np.float64))
    residuals = np.sort(residuals[~np.isnan(residuals)])
    n = residuals.size
    rank = math.ceil((n + 1) * coverage)
    if n == 0 or rank > n:
        needed = next(k for k in range(1, 10**7) if math.ceil((k + 1) * coverage) <= k)
        note = (f"{n} validation interviews are too few for {coverage:.0%} intervals (at least {needed} needed); "
                "the intervals are unbounded")
        warn_user(note)
        return {"coverage": coverage, "quantile": None, "calibration_size": n, "note": note}
    return {"coverage": coverage, "quantile": float(residuals[rank - 1]), "calibration_size": n, "note": None}
