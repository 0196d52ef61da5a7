"""Is an explanation faithful: does the prediction depend on what it points at? The ERASER measures (DeYoung et
al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models") over any kind of unit: words (the Hybrid),
turns (the dual encoder), posts (DORIS).

For one record with units u_1..u_n, an importance per unit (the explanation) and `score(kept)`: the model's output
with only the units `kept` present (the predicted class's probability, or the severity):

* comprehensiveness at k = score(all) - score(all but the top k% units): how much the output falls when what the
  explanation points at is removed (higher: more faithful);
* sufficiency at k = score(all) - score(only the top k% units): how much it falls when only that is kept (lower:
  more faithful);
* AOPC = the mean of either over the k's (the area over the perturbation curve, at these k's);
* the same for units drawn at random, as many as the top k% (the mean of `random_draws` draws): an explanation is
  worth reading only where it beats random.

`record_faithfulness` measures one record; `summarize_faithfulness` gives the mean over records of every measure
with a percentile bootstrap interval (records resampled), for the explanation and for random, side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .metrics import bootstrap_intervals

#: the shares of units removed or kept (ERASER reports AOPC over such bins)
FRACTIONS = (0.1, 0.2, 0.5)
MEASURES = ("comprehensiveness", "sufficiency")


def top_units(importance: Sequence[float], fraction: float) -> list[int]:
    """The indices of the top `fraction` of units by importance (at least one; ties broken by position)."""
    count = len(importance)
    if count == 0:
        raise ValueError("A record with no units cannot be explained; drop it first.")
    if not 0 < fraction <= 1:
        raise ValueError(f"A fraction of units must be in (0, 1], got {fraction}.")
    k = min(count, max(1, round(count * fraction)))
    order = sorted(range(count), key=lambda i: (-float(importance[i]), i))
    return sorted(order[:k])


def _drops(score: Callable[[list[int]], float], full: float, chosen: list[int], count: int) -> dict[str, float]:
    rest = [i for i in range(count) if i not in set(chosen)]
    return {"comprehensiveness": full - float(score(rest)), "sufficiency": full - float(score(chosen))}


def record_faithfulness(score: Callable[[list[int]], float], importance: Sequence[float],
                        fractions: Sequence[float] = FRACTIONS, random_draws: int = 5,
                        rng: np.random.Generator | None = None) -> dict[str, dict[str, float]]:
    """The measures of one record: {"explanation": {measure@k: value, aopc_measure: value}, "random": {...}}.

    `score(kept)` is the model's output with only the units at indices `kept` (in order) present; `importance` is
    the explanation's weight per unit (higher: more important)."""
    if random_draws < 1:
        raise ValueError(f"`random_draws` must be >= 1, got {random_draws}.")
    count = len(importance)
    rng = rng if rng is not None else np.random.default_rng(0)
    full = float(score(list(range(count))))
    out: dict[str, dict[str, float]] = {"explanation": {}, "random": {}}
    for fraction in fractions:
        chosen = top_units(importance, fraction)
        for name, value in _drops(score, full, chosen, count).items():
            out["explanation"][f"{name}@{fraction:g}"] = value
        draws = [_drops(score, full, sorted(rng.choice(count, len(chosen), replace=False).tolist()), count)
                 for _ in range(random_draws)]
        for name in MEASURES:
            out["random"][f"{name}@{fraction:g}"] = float(np.mean([d[name] for d in draws]))
    for side in out.values():
        for name in MEASURES:
            side[f"aopc_{name}"] = float(np.mean([side[f"{name}@{f:g}"] for f in fractions]))
    return out


def summarize_faithfulness(records: Sequence[dict[str, dict[str, float]]], resamples: int = 1000,
                           seed: int = 0) -> dict[str, dict[str, dict]]:
    """Mean of every measure over records with its bootstrap interval: {"explanation" | "random": {measure:
    {"value": v, "interval": [low, high]}}}."""
    if not records:
        raise ValueError("No records to summarize.")
    out = {}
    for side in ("explanation", "random"):
        names = list(records[0][side])
        table = np.array([[r[side][n] for n in names] for r in records], dtype=np.float64)

        def mean(index, table=table, names=names):
            return dict(zip(names, table[index].mean(axis=0)))

        intervals = bootstrap_intervals(mean, len(records), resamples, seed) if resamples else {}
        values = mean(np.arange(len(records)))
        out[side] = {n: {"value": float(values[n]), "interval": intervals.get(n, [float("nan")] * 2)}
                     for n in names}
    return out
