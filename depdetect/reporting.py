"""Numbers a researcher can trust, assembled the same way for every system, training run and `depdetect evaluate`:
calibration (fitted on validation), the decision threshold's rule, bootstrap intervals of every test metric, the
two simple baselines and the gain over the better one, subgroup metrics, and how they print.

`classification_report` and `regression_report` return plain dicts that go into metrics.json as they are; the
model card (cards.py) and the console (`format_report`) read the same dicts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from . import extras
from .baselines import gain_over_baselines, score_baselines
from .calibration import (
    MIN_CALIBRATION_EXAMPLES,
    calibrate,
    choose_threshold,
    conformal_quantile,
    fit_platt,
    fit_temperature,
    warn_user,
)
from .metrics import (
    binary_metrics,
    bootstrap_intervals,
    brier_score,
    expected_calibration_error,
    interval_coverage,
    regression_metrics,
)
from .utils import format_number

logger = logging.getLogger(__name__)

#: groups with fewer positives than this are flagged (their metrics are too noisy to compare), not hidden
SMALL_GROUP_POSITIVES = 10
CALIBRATION_METHODS = ("auto", "temperature", "platt", "none")


def fit_calibration(method: str, p, y, min_examples: int = MIN_CALIBRATION_EXAMPLES) -> dict:
    """The calibration `method` fitted on validation P(positive): a dict for `calibration.calibrate`."""
    if method == "temperature":
        return fit_temperature(p, y, min_examples)
    if method == "platt":
        return fit_platt(p, y, min_examples)
    if method == "none":
        return {"method": "none", "note": None}
    raise ValueError(f"--calibration must be one of {CALIBRATION_METHODS}, got {method!r}.")


def saved_calibration(calibration: dict) -> dict | None:
    """What a config stores: the fitted parameters, or None (identity) when nothing was fitted."""
    if calibration.get("method") in (None, "none") or calibration.get("note"):
        return None
    return {k: v for k, v in calibration.items() if k != "note"}


def calibration_summary(p_raw, p_calibrated, y, calibration: dict | None) -> dict:
    """ECE (15 equal-width bins, and equal-mass for reference) and Brier score before and after calibration."""
    y = np.asarray(y).astype(int)
    calibration = calibration or {}
    fitted = calibration.get("method") not in (None, "none") and not calibration.get("note")
    return {
        "method": calibration["method"] if fitted else "none",
        "attempted": calibration.get("method", "none"),
        "parameters": {k: v for k, v in calibration.items() if k not in ("method", "note")} if fitted else {},
        "note": calibration.get("note"),
        "ece_bins": "15 equal-width",
        "ece_before": expected_calibration_error(p_raw, y),
        "ece_after": expected_calibration_error(p_calibrated, y),
        "ece_equal_mass_before": expected_calibration_error(p_raw, y, strategy="mass"),
        "ece_equal_mass_after": expected_calibration_error(p_calibrated, y, strategy="mass"),
        "brier_before": brier_score(p_raw, y),
        "brier_after": brier_score(p_calibrated, y),
    }


def read_groups(values: Sequence, column: str) -> list[str | None]:
    """Group values of the evaluated units as strings (None where missing); an error naming the column when it is
    missing or empty everywhere."""
    out = [None if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "" else str(v)
           for v in values]
    if all(v is None for v in out):
        raise ValueError(f"The group column {column!r} is missing or empty in every evaluated record; check the "
                         "column name (--group_column) or leave it out.")
    return out


def subgroup_report(groups: Sequence[str | None], y, scores, task: str, threshold: float = 0.5) -> dict:
    """Metrics per group (missing values form the group "(missing)"), each flagged `small` when it has fewer than
    10 positives (classification) or 10 units (regression), and per metric the largest gap between the groups
    that are not small."""
    y = np.asarray(y)
    scores = np.asarray(scores, dtype=np.float64)
    names = ["(missing)" if g is None else g for g in groups]
    per_group = {}
    for name in sorted(set(names)):
        index = np.array([i for i, g in enumerate(names) if g == name])
        if task == "regression":
            metrics = regression_metrics(scores[index], y[index])
            small = index.size < SMALL_GROUP_POSITIVES
        else:
            metrics = binary_metrics(scores[index], y[index].astype(int), threshold)
            small = int(y[index].sum()) < SMALL_GROUP_POSITIVES
        per_group[name] = {"n": int(index.size), "positives": None if task == "regression" else int(y[index].sum()),
                           "small": bool(small), "metrics": metrics}
    gaps = {}
    compared = {g: r for g, r in per_group.items() if not r["small"]}
    for metric in next(iter(per_group.values()))["metrics"]:
        values = {g: r["metrics"][metric] for g, r in compared.items() if not math.isnan(r["metrics"][metric])}
        if len(values) >= 2:
            high, low = max(values, key=values.get), min(values, key=values.get)
            gaps[metric] = {"gap": values[high] - values[low], "highest": high, "lowest": low}
    largest = max(gaps, key=lambda m: gaps[m]["gap"]) if gaps else None
    return {"groups": per_group, "gaps": gaps,
            "largest_gap": {"metric": largest, **gaps[largest]} if largest else None,
            "small_groups": sorted(g for g, r in per_group.items() if r["small"]),
            "small_rule": f"< {SMALL_GROUP_POSITIVES} " + ("units" if task == "regression" else "positives")}


def classification_report(*, test_y, test_raw, validation_y=None, validation_raw=None, calibration: str = "none",
                          fitted_calibration: dict | None = None, threshold_rule: str = "0.5",
                          threshold: float | None = None, baseline_scores: dict | None = None, groups=None,
                          resamples: int = 1000, seed: int = 0,
                          min_calibration_examples: int = MIN_CALIBRATION_EXAMPLES) -> dict:
    """Everything reported about a binary classifier's test predictions.

    Either fit (training: `validation_*`, `calibration`, `threshold_rule`) or reuse (`depdetect evaluate`:
    `fitted_calibration`, `threshold`) the calibration and threshold. Returns a dict with `test` (point metrics of
    the calibrated probabilities at the threshold), `test_intervals`, `calibration`, `threshold`,
    `test_uncalibrated_at_0.5` (the decision before calibration and threshold choice), `baselines`,
    `gain_over_baseline` and `subgroups`, plus `saved_calibration` and the probabilities for plots (`_arrays`,
    removed before saving).
    """
    y = np.asarray(test_y).astype(int)
    raw = np.asarray(test_raw, dtype=np.float64)
    chosen = {"threshold_rule": threshold_rule, "decision_threshold": threshold, "note": None,
              "chosen_on": "saved with the model"}
    if fitted_calibration is None:
        fitted = fit_calibration(calibration, validation_raw, validation_y, min_calibration_examples)
        validation_p = calibrate(validation_raw, saved_calibration(fitted))
        chosen = {**choose_threshold(validation_p, validation_y, threshold_rule),
                  "chosen_on": "chosen on the validation split"}
        for note in {fitted.get("note"), chosen.get("note")} - {None}:
            warn_user(f"{note[0].upper()}{note[1:]}; metrics.json and the model card say so.")
        chosen["validation"] = binary_metrics(validation_p, validation_y, chosen["decision_threshold"])
    else:
        fitted = fitted_calibration or {"method": "none", "note": None}
    saved = saved_calibration(fitted)
    p = calibrate(raw, saved)
    t = 0.5 if chosen["decision_threshold"] is None else float(chosen["decision_threshold"])
    chosen["decision_threshold"] = t

    def metric(index):
        return binary_metrics(p[index], y[index], t)

    report = {
        "test": metric(np.arange(y.size)),
        "test_intervals": bootstrap_intervals(metric, y.size, resamples, seed) if resamples else {},
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": 0.95, "method": "percentile"},
        "calibration": calibration_summary(raw, p, y, fitted),
        "threshold": chosen,
        "test_uncalibrated_at_0.5": binary_metrics(raw, y, 0.5),
        "saved_calibration": saved,
        "_arrays": {"raw": raw, "calibrated": p, "y": y, "baselines": dict(baseline_scores or {})},
    }
    if baseline_scores:
        # the baselines decide at 0.5, where their balanced logistic regression puts the decision
        report["baselines"] = score_baselines(baseline_scores, y, "classification", 0.5, resamples, seed)
        report["gain_over_baseline"] = gain_over_baselines(p, baseline_scores, y, "classification", resamples, seed)
    if groups is not None:
        report["subgroups"] = subgroup_report(groups, y, p, "classification", t)
    return report


def regression_report(*, test_y, test_pred, validation_y=None, validation_pred=None, coverage: float = 0.9,
                      conformal: dict | None = None, baseline_scores: dict | None = None, groups=None,
                      resamples: int = 1000, seed: int = 0) -> dict:
    """Everything reported about severity scores: RMSE/MAE with intervals, split-conformal intervals (fitted on
    validation, or the model's saved `conformal`; {} for a model saved without them) with their empirical coverage
    and mean width on test, the baselines and the gain over the better one (RMSE), and subgroups."""
    y = np.asarray(test_y, dtype=np.float64)
    pred = np.asarray(test_pred, dtype=np.float64)
    if conformal is None:
        conformal = conformal_quantile(validation_pred, validation_y, coverage)

    def metric(index):
        return regression_metrics(pred[index], y[index])

    report = {
        "test": metric(np.arange(y.size)),
        "test_intervals": bootstrap_intervals(metric, y.size, resamples, seed) if resamples else {},
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": 0.95, "method": "percentile"},
        "conformal": None,
        "_arrays": {"pred": pred, "y": y, "low": None, "high": None},
    }
    if conformal:  # absent from models saved before depdetect 0.4
        q = conformal.get("quantile")
        low = pred - (math.inf if q is None else q)
        high = pred + (math.inf if q is None else q)
        achieved = interval_coverage(low, high, y) if q is not None else {"coverage": 1.0, "mean_width": math.inf}
        report["test"].update(coverage=achieved["coverage"], interval_width=achieved["mean_width"])
        report["conformal"] = {**conformal, "empirical_coverage": achieved["coverage"],
                               "mean_width": achieved["mean_width"]}
        report["_arrays"].update(low=low, high=high)
    if baseline_scores:
        report["baselines"] = score_baselines(baseline_scores, y, "regression", resamples=resamples, seed=seed)
        report["gain_over_baseline"] = gain_over_baselines(pred, baseline_scores, y, "regression", resamples, seed)
    if groups is not None:
        report["subgroups"] = subgroup_report(groups, y, pred, "regression")
    return report


def plots_for(report: dict) -> dict[str, bytes]:
    """The report's PNG plots ({relative path: bytes}); none, with a warning, without the `plots` extra."""
    if not extras.installed("plots"):
        logger.warning("No plots drawn: matplotlib is not installed (pip install 'depdetect[plots]'); the metrics "
                       "and the card are complete without them.")
        return {}
    from .plots import classification_plots, regression_plots

    arrays = report.get("_arrays") or {}
    if "pred" in arrays:
        return regression_plots(arrays["pred"], arrays["y"], arrays["low"], arrays["high"])
    if "raw" in arrays:
        return classification_plots(arrays["raw"], arrays["calibrated"], arrays["y"],
                                    report["threshold"]["decision_threshold"], arrays["baselines"])
    return {}


def public(report: dict) -> dict:
    """The report as saved: without the arrays kept for plotting."""
    return {k: v for k, v in report.items() if not k.startswith("_")}


_number = format_number


def format_report(report: dict, title: str) -> str:
    """The console table: each test metric with its 95% interval, then calibration, threshold, baselines, gain."""
    test, intervals = report.get("test", {}), report.get("test_intervals", {})
    width = max([len(k) for k in test] + [10])
    lines = [title, "-" * max(len(title), width + 36), f"{'metric':<{width}}  {'value':>10}  95% interval (bootstrap)"]
    for key, value in test.items():
        low, high = intervals.get(key, [None, None])
        shown = f"[{_number(low)}, {_number(high)}]" if low is not None else ""
        lines.append(f"{key:<{width}}  {_number(value):>10}  {shown}")
    cal = report.get("calibration")
    if cal:
        lines.append(f"calibration: {cal['method']}" + (f" {cal['parameters']}" if cal["parameters"] else "")
                     + f"; ECE {_number(cal['ece_before'])} -> {_number(cal['ece_after'])}, Brier "
                     f"{_number(cal['brier_before'])} -> {_number(cal['brier_after'])}"
                     + (f" ({cal['note']})" if cal.get("note") else ""))
    threshold = report.get("threshold")
    if threshold:
        lines.append(f"threshold: {threshold['decision_threshold']:.4f} (rule {threshold['threshold_rule']}, "
                     f"{threshold['chosen_on']})"
                     + (f" ({threshold['note']})" if threshold.get("note") else ""))
    conformal = report.get("conformal")
    if conformal:
        lines.append(f"{conformal['coverage']:.0%} conformal intervals: +-{_number(conformal['quantile'])}; test "
                     f"coverage {_number(conformal['empirical_coverage'])}, mean width "
                     f"{_number(conformal['mean_width'])}")
    for name, baseline in (report.get("baselines") or {}).items():
        parts = ", ".join(f"{k}={_number(v)}" for k, v in baseline["test"].items() if k in ("auprc", "auroc", "f1",
                                                                                                  "rmse", "mae"))
        lines.append(f"baseline {name}: {parts}")
    gain = report.get("gain_over_baseline")
    if gain:
        lines.append(gain_sentence(gain))
    groups = report.get("subgroups")
    if groups and groups.get("largest_gap"):
        g = groups["largest_gap"]
        lines.append(f"largest subgroup gap: {g['metric']} {_number(g['gap'])} ({g['highest']} vs {g['lowest']})"
                     + (f"; small groups flagged: {', '.join(groups['small_groups'])}" if groups["small_groups"]
                        else ""))
    return "\n".join(lines)


def gain_sentence(gain: dict) -> str:
    """One plain sentence about the gain over the better baseline, with its interval."""
    low, high = gain["interval"]
    better = "lower" if gain["metric"] == "rmse" else "higher"
    verdict = ("the model is better" if gain["significant"] and gain["gain"] > 0 else
               "the baseline is better" if gain["significant"] else "no clear difference (the interval holds 0)")
    return (f"gain over the better baseline ({gain['better_baseline']}, {gain['metric']} "
            f"{_number(gain['baseline_value'])} vs the model's {_number(gain['system_value'])}; {better} is better): "
            f"{gain['gain']:+.4f} [{_number(low)}, {_number(high)}]: {verdict}")
