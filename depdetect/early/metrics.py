"""Early risk detection metrics: ERDE_o (Losada and Crestani 2016) and latency-weighted F1 (Sadeque et al. 2018).

The formulas live once, in the evaluate modules `depdetect/evaluate_metrics/erde` and `.../f_latency` (which load
offline with `evaluate.load(path)`); these functions import them from there and add what a report needs: the
default penalty rate from the data, several deadlines o at once, and bootstrap intervals (users resampled).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np

from .options import DEFAULT_DEADLINES


def _module(name: str):
    """The formula functions of one of depdetect's evaluate modules (imported as a module, not via evaluate)."""
    return importlib.import_module(f"depdetect.evaluate_metrics.{name}.{name}")


def erde(decisions, delays, labels, o: float = 5, c_fp: float | None = None, c_fn: float = 1.0,
         c_tp: float = 1.0) -> float:
    """ERDE_o x100: the mean over users of c_fp (false positive), c_fn (false negative), lc_o(k) * c_tp (true
    positive after k writings, lc_o(k) = 1 - 1/(1 + e^(k - o))) and 0 (true negative). c_fp defaults to the share of
    positive users."""
    cost, _ = _module("erde").erde_costs(decisions, delays, labels, o, c_fp, c_fn, c_tp)
    return float(100.0 * cost.mean())


def penalty_rate(num_posts: Sequence[int]) -> float:
    """The default p of F_latency: ln(3) / (median number of posts per user - 1) (penalty 0.5 at the median)."""
    counts = np.asarray(num_posts, dtype=np.float64)
    if counts.size == 0:
        raise ValueError("No users: the penalty rate p needs their numbers of posts.")
    return _module("f_latency").penalty_rate(float(np.median(counts)))


def latency_penalty(delays, p: float) -> np.ndarray:
    """penalty(k) = -1 + 2 / (1 + e^(-p (k - 1)))."""
    return _module("f_latency").latency_penalty(delays, p)


def f_latency(decisions, delays, labels, p: float) -> dict[str, float]:
    """F_latency = F1 x speed, speed = 1 - median penalty over true positives; with f1, precision, recall, speed,
    latency_tp (median k over true positives) and p."""
    decisions, k, labels = _module("erde").check_decisions(decisions, delays, labels)
    return _module("f_latency").latency_f1(decisions, k, labels, p)


def early_risk_metrics(decisions, delays, labels, num_posts: Sequence[int] | None = None, p: float | None = None,
                       deadlines: Sequence[float] = DEFAULT_DEADLINES, c_fp: float | None = None) -> dict[str, float]:
    """Everything an early-risk evaluation reports: ERDE_o (x100) for each deadline, F_latency with its parts, the
    number of users flagged, p and c_fp used. `p` defaults to `penalty_rate(num_posts)` (the data's own median)."""
    decisions, k, labels = _module("erde").check_decisions(decisions, delays, labels)
    if p is None:
        if num_posts is None:
            raise ValueError("Pass p, or num_posts (each user's number of posts) to derive it.")
        p = penalty_rate(num_posts)
    out = {}
    used = c_fp
    for o in deadlines:
        cost, used = _module("erde").erde_costs(decisions, k, labels, o, c_fp)
        out[_module("erde").erde_name(o)] = float(100.0 * cost.mean())
    out.update(_module("f_latency").latency_f1(decisions, k, labels, p))
    out["users_flagged"] = int(decisions.sum())
    out["c_fp"] = float(used)
    return out


def early_risk_intervals(decisions, delays, labels, p: float, deadlines: Sequence[float] = DEFAULT_DEADLINES,
                         c_fp: float | None = None, resamples: int = 1000, seed: int = 0) -> dict[str, list[float]]:
    """95% percentile bootstrap intervals of the early-risk metrics, users resampled (p and c_fp held at the values
    of the whole collection, so the intervals show the decisions' variability, not the constants')."""
    from ..metrics import bootstrap_intervals

    decisions, k, labels = (np.asarray(x) for x in (decisions, delays, labels))
    c_fp = float(labels.mean()) if c_fp is None else c_fp

    def score(index):
        out = early_risk_metrics(decisions[index], k[index], labels[index], p=p, deadlines=deadlines, c_fp=c_fp)
        return {key: out[key] for key in out if key.startswith("erde_") or key in ("f_latency", "f1", "latency_tp")}

    return bootstrap_intervals(score, labels.size, resamples, seed) if resamples else {}
