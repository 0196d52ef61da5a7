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

`record_faithfulness` measures one record for several explanation methods at once (the random draws are shared);
`summarize_faithfulness` gives the mean over records of every measure with a percentile bootstrap interval (records
resampled), per method and for random, and each method's paired difference from random; `measure_faithfulness`
runs it all for a system's predictor (its `explanation_methods`, `attributions` and `unit_scorer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .metrics import bootstrap_intervals

#: the shares of units removed or kept (ERASER reports AOPC over such bins)
FRACTIONS = (0.1, 0.2, 0.5)
MEASURES = ("comprehensiveness", "sufficiency")


def top_units(importance: Sequence[float], fraction: float) -> list[int]:
    """The indices of the top `fraction` of units by importance (ties broken by position): at least one, and one
    fewer than all, so that removing them leaves something and keeping them is not the whole record."""
    count = len(importance)
    if count == 0:
        raise ValueError("A record with no units cannot be explained; drop it first.")
    if not 0 < fraction <= 1:
        raise ValueError(f"A fraction of units must be in (0, 1], got {fraction}.")
    k = max(1, min(count - 1, round(count * fraction)))
    order = sorted(range(count), key=lambda i: (-float(importance[i]), i))
    return sorted(order[:k])


def _kept_sets(chosen: list[int], count: int) -> tuple[list[int], list[int]]:
    """(what comprehensiveness keeps: all but `chosen`, what sufficiency keeps: `chosen`)."""
    removed = set(chosen)
    return [i for i in range(count) if i not in removed], chosen


def record_faithfulness(score: Callable[[list[list[int]]], Sequence[float]], importances: dict[str, Sequence[float]],
                        fractions: Sequence[float] = FRACTIONS, random_draws: int = 5,
                        rng: np.random.Generator | None = None, absolute: bool = False
                        ) -> dict[str, dict[str, float]]:
    """The measures of one record for every explanation method and for random units:
    {method: {measure@k: value, aopc_measure: value}, ..., "random": {...}}.

    Args:
        score: the model's output for several versions of the record at once: called with a list of kept-index
            lists (each in order; only those units present), returns one number per list (the probability of the
            class predicted on the whole record, or the severity).
        importances: {method name: weight per unit (higher: more important)}, all of the record's length.
        fractions: the shares k of units removed or kept.
        random_draws: random choices of as many units as the top k% (their mean is the "random" row).
        absolute: measure the size of each change (|full - reduced|) rather than its sign: for a severity, where
            removing what matters can move the output either way.
    """
    if random_draws < 1:
        raise ValueError(f"`random_draws` must be >= 1, got {random_draws}.")
    lengths = {len(v) for v in importances.values()}
    if not importances or len(lengths) != 1:
        raise ValueError(f"Every method needs one weight per unit; got lengths {sorted(lengths)}.")
    count = lengths.pop()
    if count < 2:
        raise ValueError("A record needs at least 2 units to remove some and keep some; leave shorter ones out.")
    rng = rng if rng is not None else np.random.default_rng(0)
    plan: list[tuple[str, str, float, int]] = []  # (side, measure, fraction, draw) per subset scored
    subsets: list[list[int]] = [list(range(count))]
    for fraction in fractions:
        for method, importance in importances.items():
            for name, kept in zip(MEASURES, _kept_sets(top_units(importance, fraction), count)):
                plan.append((method, name, fraction, 0))
                subsets.append(kept)
        size = len(top_units(next(iter(importances.values())), fraction))
        for draw in range(random_draws):
            chosen = sorted(rng.choice(count, size, replace=False).tolist())
            for name, kept in zip(MEASURES, _kept_sets(chosen, count)):
                plan.append(("random", name, fraction, draw))
                subsets.append(kept)
    unique = list(dict.fromkeys(tuple(kept) for kept in subsets))  # methods that agree share their versions
    scored = [float(v) for v in score([list(kept) for kept in unique])]
    if len(scored) != len(unique):
        raise ValueError(f"The scorer returned {len(scored)} numbers for {len(unique)} versions of the record.")
    lookup = dict(zip(unique, scored))
    values = [lookup[tuple(kept)] for kept in subsets]
    full = values[0]
    sums: dict[str, dict[str, list[float]]] = {}
    for (side, name, fraction, _), value in zip(plan, values[1:]):
        change = full - value
        sums.setdefault(side, {}).setdefault(f"{name}@{fraction:g}", []).append(abs(change) if absolute else change)
    out = {side: {key: float(np.mean(v)) for key, v in table.items()} for side, table in sums.items()}
    for side in out.values():
        for name in MEASURES:
            side[f"aopc_{name}"] = float(np.mean([side[f"{name}@{f:g}"] for f in fractions]))
    return out


def one_at_a_time(score: Callable[[list[int]], float]) -> Callable[[list[list[int]]], list[float]]:
    """A scorer of several kept-index lists from one that scores a single list."""
    return lambda subsets: [score(kept) for kept in subsets]


def summarize_faithfulness(records: Sequence[dict[str, dict[str, float]]], resamples: int = 1000,
                           seed: int = 0) -> dict[str, dict[str, dict]]:
    """Mean of every measure over records with its bootstrap interval, per method and for random:
    {method | "random": {measure: {"value": v, "interval": [low, high]}}}; each method's measure also holds
    `vs_random`, the paired difference (method - random, records resampled together) with its interval, the
    figure that says whether the explanation beats chance."""
    if not records:
        raise ValueError("No records to summarize.")
    sides = list(records[0])
    names = list(records[0][sides[0]])
    table = np.array([[[r[s][n] for n in names] for s in sides] for r in records], dtype=np.float64)  # (R, S, M)
    random_at = sides.index("random") if "random" in sides else None
    keys = [(s, n) for s in sides for n in names]
    if random_at is not None:
        keys += [(s, f"{n}|vs") for s in sides if s != "random" for n in names]

    def mean(index):
        means = table[index].mean(axis=0)  # (S, M)
        out = {f"{s}|{n}": means[i, j] for i, s in enumerate(sides) for j, n in enumerate(names)}
        if random_at is not None:
            gains = means - means[random_at]
            out.update({f"{s}|{n}|vs": gains[i, j] for i, s in enumerate(sides) if s != "random"
                        for j, n in enumerate(names)})
        return out

    intervals = bootstrap_intervals(mean, len(records), resamples, seed) if resamples else {}
    values = mean(np.arange(len(records)))

    def entry(key: str) -> dict:
        return {"value": float(values[key]), "interval": [float(x) for x in intervals.get(key, [np.nan] * 2)]}

    out: dict[str, dict[str, dict]] = {s: {} for s in sides}
    for side, name in keys:
        if name.endswith("|vs"):
            out[side][name[:-3]]["vs_random"] = entry(f"{side}|{name}")
        else:
            out[side][name] = entry(f"{side}|{name}")
    return out


def measure_faithfulness(spec, system, predictor, records: Sequence[dict], samples: int = 200, seed: int = 0,
                         resamples: int = 1000, random_draws: int = 5, methods: Sequence[str] | None = None,
                         progress: bool = True) -> dict:
    """Every explanation method of a system on (a sample of) checked records, against random units.

    `system` is the system's predictor module: `attributions(predictor, records, method)` gives one weight per unit
    per record, `unit_scorer(predictor, record)` a batch scorer of kept-unit lists and whether changes count by
    size (`absolute`). Records with fewer than 2 units are left out (counted in `settings`). Returns
    `summarize_faithfulness`'s table plus `settings`: unit, removal, fractions, draws, records used and skipped,
    and the seconds per record each method's attributions took."""
    from time import perf_counter

    from tqdm.auto import tqdm

    if samples < 1:
        raise ValueError(f"--faithfulness_samples must be >= 1, got {samples}.")
    methods = list(methods or spec.explanations)
    rng = np.random.default_rng(seed)
    picked = [records[i] for i in sorted(rng.choice(len(records), min(samples, len(records)), replace=False))]
    weights, seconds = {}, {}
    with tqdm(total=len(methods) * len(picked), desc="explaining", unit=spec.unit, leave=False,
              disable=not progress) as bar:
        for method in methods:
            started, weights[method] = perf_counter(), []
            for start in range(0, len(picked), 16):  # in chunks, so that the bar moves
                weights[method] += system.attributions(predictor, picked[start : start + 16], method)
                bar.update(len(picked[start : start + 16]))
            seconds[method] = (perf_counter() - started) / len(picked)
    per_record, skipped, started = [], 0, perf_counter()
    for i, record in enumerate(tqdm(picked, desc="faithfulness", unit=spec.unit, leave=False, disable=not progress)):
        importances = {m: weights[m][i] for m in methods}
        if len(importances[methods[0]]) < 2:
            skipped += 1
            continue
        score, absolute = system.unit_scorer(predictor, record)
        per_record.append(record_faithfulness(score, importances, random_draws=random_draws, rng=rng,
                                              absolute=absolute))
    if not per_record:
        raise ValueError(f"None of the {len(picked)} sampled {spec.units} has 2 or more {spec.explanation_unit}s to "
                         "remove and keep; faithfulness cannot be measured on them.")
    summary = summarize_faithfulness(per_record, resamples, seed)
    summary["settings"] = {
        "unit": spec.explanation_unit, "removal": spec.unit_removal, "fractions": list(FRACTIONS),
        "random_draws": random_draws, "records": len(per_record), "skipped_under_2_units": skipped,
        "seconds_per_record": {m: round(s, 4) for m, s in seconds.items()},
        "scoring_seconds_per_record": round((perf_counter() - started) / len(picked), 4),
        "measured": "the probability of the predicted class" if not absolute else "the size of the change in "
                    "severity",
    }
    return summary


def faithfulness_table(summary: dict, title: str) -> str:
    """A plain-text table: per method (and random) the AOPC comprehensiveness and sufficiency with 95% intervals,
    comprehensiveness minus random with its interval, and the seconds per record."""
    def cell(entry: dict) -> str:
        low, high = entry["interval"]
        return f"{entry['value']:+.3f} [{low:+.3f}, {high:+.3f}]"

    settings = summary.get("settings", {})
    methods = [m for m in summary if m not in ("settings", "random")] + ["random"]
    header = f"{'method':<22}{'comprehensiveness':>28}{'sufficiency':>28}{'compr. - random':>28}{'s/record':>10}"
    lines = [title, "-" * len(header), header]
    for method in methods:
        row = summary[method]
        gain = row["aopc_comprehensiveness"].get("vs_random")
        cost = settings.get("seconds_per_record", {}).get(method)
        lines.append(f"{method:<22}{cell(row['aopc_comprehensiveness']):>28}{cell(row['aopc_sufficiency']):>28}"
                     f"{cell(gain) if gain else '':>28}{'' if cost is None else f'{cost:.3f}':>10}")
    lines.append(f"AOPC over k = {', '.join(f'{k:.0%}' for k in settings.get('fractions', FRACTIONS))} of the "
                 f"{settings.get('unit', 'unit')}s; {settings.get('records', '?')} records; higher comprehensiveness "
                 "and lower sufficiency: more faithful.")
    return "\n".join(lines)
