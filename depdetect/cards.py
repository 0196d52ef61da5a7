"""Model cards: built from the templates in `depdetect/model_cards/`, the folder's config and its metrics.json.

The same functions write the card of a freshly trained folder and the card `push_to_hub.py` publishes (with the
repo id and a pinned revision in the usage snippet). The metadata (`huggingface_hub.ModelCardData`) carries
library_name, pipeline_tag, tags, base_model, datasets, license and `eval_results` from metrics.json, so the Hub
shows a results table. Templates are rendered with undefined fields as errors: a template naming a field the
card does not provide fails before anything is written or uploaded.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .systems import folder_spec
from .systems import get as get_system
from .utils import read_json

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "model_cards"
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "auroc", "auprc")
REGRESSION_METRICS = ("rmse", "mae", "attention_entropy", "recall@10%", "recall@30%", "recall@50%")


def read_metrics(folder: str | Path) -> dict:
    """metrics.json of a folder; {} with a warning when it is missing (the card then has no results)."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        warnings.warn(f"{path} is missing: the model card will carry no results.", stacklevel=2)
        return {}
    return read_json(path)


def render_card(template: str | Path, card_data: ModelCardData, **fields: Any) -> ModelCard:
    """Render a card template; a field the template uses but the card lacks is an error, not a blank."""
    template = Path(template)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        text = environment.from_string(template.read_text(encoding="utf-8")).render(
            card_data=card_data.to_yaml(), **fields
        )
    except jinja2.UndefinedError as err:
        raise ValueError(
            f"Card template {template} uses a field the card does not provide ({err.message}). "
            f"Fields available: card_data, {', '.join(sorted(fields))}."
        ) from err
    except jinja2.TemplateSyntaxError as err:
        raise ValueError(f"Card template {template} is not valid Jinja (line {err.lineno}: {err.message}).") from err
    return ModelCard(text)


def metric_numbers(metrics: dict, keys: tuple[str, ...]) -> dict[str, float]:
    test = metrics.get("test") or {}
    return {
        k: float(test[k]) for k in keys if isinstance(test.get(k), (int, float)) and not isinstance(test.get(k), bool)
    }


def eval_results(numbers: dict[str, float], task_type: str, task_name: str, card: dict) -> list[EvalResult]:
    """One EvalResult per test metric, on the dataset the card describes."""
    return [
        EvalResult(task_type=task_type, task_name=task_name, dataset_type=card.get("dataset_type", "custom"),
                   dataset_name=card.get("dataset_name", "user-supplied data"), dataset_split="test",
                   metric_type=name, metric_name=name, metric_value=value)
        for name, value in numbers.items()
    ]


def card_data(model_name: str, numbers: dict, task_type: str, task_name: str, card: dict,
               pipeline_tag: str | None, library_name: str, tags: list[str]) -> ModelCardData:
    return ModelCardData(
        model_name=model_name,
        library_name=library_name,
        pipeline_tag=pipeline_tag,
        tags=["depression-detection", "mental-health", "explainability", "depdetect", *tags],
        license="apache-2.0",
        language=["en"],
        base_model=card.get("base_model"),
        datasets=card.get("datasets"),
        eval_results=eval_results(numbers, task_type, task_name, card) or None,
    )


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _interval(pair) -> str:
    if not pair or pair[0] is None or (isinstance(pair[0], float) and math.isnan(pair[0])):
        return "n/a"
    return f"[{_fmt(pair[0])}, {_fmt(pair[1])}]"


def results_table(metrics: dict, numbers: dict, unit: str = "examples") -> str:
    """The test results as a Markdown table, with the 95% bootstrap interval of each metric where recorded."""
    if not numbers:
        return ("_No results: the folder had no metrics.json" + (" with test metrics" if metrics else "") + "._\n")
    intervals = metrics.get("test_intervals") or {}
    if not intervals:
        rows = ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4f} |" for k, v in numbers.items()]
        return "\n".join(rows) + "\n"
    boot = metrics.get("bootstrap") or {}
    rows = ["| metric | value | 95% interval |", "|---|---|---|"]
    rows += [f"| {k} | {v:.4f} | {_interval(intervals.get(k))} |" for k, v in numbers.items()]
    return ("\n".join(rows) + f"\n\nIntervals: percentile bootstrap, {boot.get('resamples', 1000)} resamples of "
            f"the test {unit} (seed {boot.get('seed', 0)}). With few positive test {unit}, read the interval, not "
            "the third decimal.\n")


def _threshold_record(threshold: dict | None) -> dict | None:
    """metrics.json's threshold record with today's keys (saved before depdetect 0.8: `threshold` and `rule`)."""
    if not threshold or "decision_threshold" in threshold:
        return threshold
    old = dict(threshold)
    return {**old, "decision_threshold": old.pop("threshold", None), "threshold_rule": old.pop("rule", None)}


def _calibration_text(metrics: dict, unit: str) -> list[str]:
    cal, threshold = metrics.get("calibration"), _threshold_record(metrics.get("threshold"))
    lines = ["### Calibration and decision threshold", ""]
    if not cal and not threshold:
        conformal = metrics.get("conformal")
        if conformal:
            q = conformal.get("quantile")
            lines += [
                f"Severity scores come with split-conformal intervals: `[score - q, score + q]` with q = {_fmt(q)}, "
                f"the {conformal['coverage']:.0%} quantile of absolute validation residuals "
                f"({conformal.get('calibration_size')} validation {unit}). On the test {unit} the intervals held "
                f"the true score for {_fmt(conformal.get('empirical_coverage'))} of them (target "
                f"{conformal['coverage']:.0%}), mean width {_fmt(conformal.get('mean_width'))}.",
                "",
                "The guarantee holds only for interviews exchangeable with the validation ones (same corpus, same "
                "interviewer protocol, same score scale); it says nothing about another population.",
            ]
            if conformal.get("note"):
                lines += ["", f"**Note:** {conformal['note']}."]
            return lines + [""]
        return lines + ["Not recorded (a model saved before depdetect 0.4 carries no calibration): probabilities "
                        "are the raw softmax.", ""]
    if cal:
        if cal.get("note"):
            lines.append(f"**Uncalibrated:** {cal['note']}.")
        else:
            params = ", ".join(f"{k} = {_fmt(v)}" for k, v in cal.get("parameters", {}).items())
            lines.append(f"P(depression) is calibrated with {cal['method']} scaling ({params}) fitted on the "
                         f"validation {unit}.")
        lines += [
            "",
            "| on the test split | before calibration | after |",
            "|---|---|---|",
            f"| ECE ({cal.get('ece_bins', '15 equal-width')} bins) | {_fmt(cal['ece_before'])} | "
            f"{_fmt(cal['ece_after'])} |",
            f"| ECE (15 equal-mass bins) | {_fmt(cal.get('ece_equal_mass_before'))} | "
            f"{_fmt(cal.get('ece_equal_mass_after'))} |",
            f"| Brier score | {_fmt(cal['brier_before'])} | {_fmt(cal['brier_after'])} |",
            "",
        ]
    if threshold:
        line = (f"Decision threshold: P(depression) >= {threshold['decision_threshold']:.4f} (rule "
                f"`{threshold['threshold_rule']}`, "
                f"{threshold.get('chosen_on', 'chosen on the validation split')})")
        before = metrics.get("test_uncalibrated_at_0.5")
        if before:
            test = metrics.get("test", {})
            line += (f". On the test {unit} it gives recall {_fmt(test.get('recall'))} and precision "
                     f"{_fmt(test.get('precision'))}; the uncalibrated model at 0.5 gave recall "
                     f"{_fmt(before.get('recall'))} and precision {_fmt(before.get('precision'))}")
        lines.append(line + "." + (f" ({threshold['note']}.)" if threshold.get("note") else ""))
        lines.append("")
    lines += [
        "**Calibration does not travel.** It was fitted on validation data from the training corpus. On another "
        "corpus, platform or population the probabilities can be badly over- or under-confident again (depdetect's "
        "BENCHMARKS.md measures this for the quick-start Hybrid on a second Reddit corpus): run `depdetect evaluate "
        "MODEL YOUR_DATA` and read its reliability diagram before trusting a probability, and re-choose the "
        "threshold on your own validation data.",
        "",
    ]
    return lines


def _baseline_text(metrics: dict, unit: str) -> list[str]:
    lines = ["### What this model adds over a simple baseline", ""]
    baselines, gain = metrics.get("baselines"), metrics.get("gain_over_baseline")
    if not baselines:
        return lines + ["No baselines were recorded for this model (trained with `--baselines none`, or saved "
                        "before depdetect 0.4).", ""]
    test, intervals = metrics.get("test", {}), metrics.get("test_intervals", {})
    keys = [k for k in ("auprc", "auroc", "f1", "rmse", "mae") if k in test]
    lines += ["| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    lines.append("| this model | " + " | ".join(f"{_fmt(test[k])} {_interval(intervals.get(k))}" for k in keys)
                 + " |")
    for b in baselines.values():
        lines.append(f"| {b['description']} | " + " | ".join(
            f"{_fmt(b['test'].get(k))} {_interval(b.get('test_intervals', {}).get(k))}" for k in keys) + " |")
    lines.append("")
    lines.append(f"Baselines fitted on the same training {unit} and scored on the same test {unit}; F1 at each "
                 "model's own threshold (0.5 for the baselines). 95% bootstrap intervals in brackets.")
    if gain:
        low, high = gain["interval"]
        better = "lower RMSE" if gain["metric"] == "rmse" else f"higher {gain['metric'].upper()}"
        if gain["significant"] and gain["gain"] > 0:
            verdict = "The model is measurably better than the better baseline."
        elif gain["significant"]:
            verdict = (f"**The better baseline ({gain['better_baseline']}) beats this model** on this split: use "
                       "it, or find out why, before relying on the model.")
        else:
            verdict = ("**No measurable gain**: the interval holds 0, so on this split the model is not shown to "
                       "be better than a simple baseline.")
        lines += ["", f"Gain over the better baseline ({gain['better_baseline']}) in {gain['metric']} ({better} is "
                      f"better): **{gain['gain']:+.4f}** (95% paired bootstrap interval {_interval([low, high])}). "
                      + verdict]
    return lines + [""]


def _factors_text(metrics: dict, unit: str) -> list[str]:
    lines = ["### Factors (subgroups)", ""]
    groups = metrics.get("subgroups")
    if not groups:
        return lines + ["No subgroup analysis was recorded. Performance may differ by gender, age, culture, "
                        "platform or topic; measure it on your data with `depdetect evaluate MODEL DATA "
                        "--group_column COLUMN`.", ""]
    per = groups["groups"]
    keys = list(next(iter(per.values()))["metrics"])
    lines += ["| group | n | positives | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
    for name, row in per.items():
        flag = " (small)" if row["small"] else ""
        lines.append(f"| {name}{flag} | {row['n']} | {row['positives'] if row['positives'] is not None else '-'} | "
                     + " | ".join(_fmt(row["metrics"][k]) for k in keys) + " |")
    gap = groups.get("largest_gap")
    lines.append("")
    if gap:
        lines.append(f"Largest gap between groups: {gap['metric']} {_fmt(gap['gap'])} ({gap['highest']} vs "
                     f"{gap['lowest']}).")
    if groups.get("small_groups"):
        lines.append(f"Groups with {groups['small_rule']} are flagged small and left out of the gaps: their "
                     f"metrics are too noisy to compare ({', '.join(groups['small_groups'])}).")
    return lines + [""]


def _plots_text(metrics: dict) -> list[str]:
    names = {"plots/pr_curve.png": "Precision-recall curve (test), chosen threshold marked",
             "plots/reliability.png": "Reliability diagram before and after calibration (test)",
             "plots/severity.png": "Predicted vs true severity with conformal intervals (test)"}
    plots = [p for p in metrics.get("plots") or [] if p in names]
    if not plots:
        return []
    return ["### Plots", ""] + [f"![{names[p]}]({p})" for p in plots] + [""]


def trust_section(metrics: dict, unit: str) -> str:
    """Calibration, threshold, conformal intervals, baselines, subgroups and plots, as Markdown for the card."""
    if not metrics:
        return ""
    lines = (_calibration_text(metrics, unit) + _baseline_text(metrics, unit) + _factors_text(metrics, unit)
             + _plots_text(metrics))
    return "\n".join(lines).rstrip() + "\n"


def _signed(entry: dict) -> str:
    low, high = entry["interval"]
    shown = "n/a" if low is None or (isinstance(low, float) and math.isnan(low)) else f"[{low:+.3f}, {high:+.3f}]"
    return f"{entry['value']:+.3f} {shown}"


def _faithfulness_text(faith: dict, spec) -> list[str]:
    settings = faith.get("settings", {})
    unit = settings.get("unit", spec.explanation_unit)
    methods = [m for m in faith if m not in ("random", "settings")]
    lines = [f"Faithfulness on {settings.get('records', '?')} test {spec.units} (ERASER measures, DeYoung et al. "
             f"2020): the {unit}s an explanation ranks highest are removed ({settings.get('removal', '')}); "
             f"*comprehensiveness* is the drop in {settings.get('measured', 'the output')} when the top 10/20/50% of "
             f"the {unit}s are removed (higher: more faithful), *sufficiency* the drop when only they are kept "
             f"(lower: more faithful), each averaged over the three shares (AOPC), beside as many {unit}s chosen at "
             "random. Means with 95% bootstrap intervals:", "",
             "| method | comprehensiveness | sufficiency | comprehensiveness minus random | seconds per "
             f"{spec.unit} |", "|---|---|---|---|---|"]
    costs = settings.get("seconds_per_record", {})
    for method in methods + ["random"]:
        row = faith[method]
        gain = row["aopc_comprehensiveness"].get("vs_random")
        cost = costs.get(method)
        lines.append(f"| {method} | {_signed(row['aopc_comprehensiveness'])} | {_signed(row['aopc_sufficiency'])} | "
                     f"{_signed(gain) if gain else ''} | {'' if cost is None else f'{cost:.3f}'} |")
    beating = [m for m in methods if faith[m]["aopc_comprehensiveness"]["vs_random"]["interval"][0] > 0]
    if beating:
        best = max(beating, key=lambda m: faith[m]["aopc_comprehensiveness"]["vs_random"]["value"])
        rest = [m for m in methods if m not in beating]
        lines += ["", f"In plain words: removing what `{best}` points at moves the prediction most, clearly more "
                      f"than removing random {unit}s; "
                  + (f"{', '.join(f'`{m}`' for m in rest)} cannot be told apart from random {unit}s here."
                     if rest else f"every method beats random {unit}s here.")
                  + f" Read the {unit}s an explanation highlights as where the model's score comes from, not as a "
                    "clinical reason."]
        default = spec.explanations[0]
        if best != default and default in methods:
            lines[-1] += (f" The default, `{default}`, is cheaper but less faithful here: ask for "
                          f"`explain=\"{best}\"` (`--explain {best}`) to read a single prediction.")
    else:
        lines += ["", f"In plain words: no method's explanation beats random {unit}s here (every interval of the "
                      f"difference includes 0): treat the highlighted {unit}s as decoration, not as reasons."]
    short = [m for m in methods if faith[m]["aopc_sufficiency"]["vs_random"]["interval"][0] > 0]
    if short:
        lines += ["", f"Kept alone, the top {unit}s of {', '.join(f'`{m}`' for m in short)} move the prediction "
                      f"*more* than as many random {unit}s do (sufficiency above random's): they are not enough to "
                      "reach the same decision on their own."]
    return lines


def _audit_text(audit: dict, spec) -> list[str]:
    lines = []
    words = audit.get("label_words")
    if words:
        m = words["metrics"]["auprc"]
        lines.append(f"- Label words deleted ({words['words_deleted']} words such as depress*, suicid*, r/... and "
                     f"subreddit names, in {words['units_with_label_words']} test {spec.units}): AUPRC "
                     f"{m['before']:.3f} -> {m['after']:.3f}, change {_signed(m['change'])}. A large drop means the "
                     "score leans on words that name the label or the forum.")
    if "prompts_only" in audit:
        key = "rmse" if "rmse" in audit["prompts_only"] else "auprc"
        lines.append(f"- {key.upper()} on whole interviews {_fmt(audit['whole_interviews'].get(key))}, on the "
                     f"responses only {_fmt(audit['responses_only'].get(key))}, on the prompts only "
                     f"{_fmt(audit['prompts_only'].get(key))}. A model that does about as well on the prompts alone "
                     "reads the interviewer, not the participant.")
    shape = audit.get("history_shape")
    if shape and "auroc" in shape:
        lines.append(f"- The history's shape alone (number of posts, mean length, posting rate; cross-fitted logistic "
                     f"regression) reaches AUROC {_signed(shape['auroc'])}: what this cohort gives away without a "
                     "word being read.")
    return ["", "Shortcut audit on the test split:", ""] + lines if lines else []


def explanations_section(metrics: dict, kind: str) -> str:
    """The card's "Explanations" section: the methods, their faithfulness against random units and the shortcut
    audit, from metrics.json, with a plain sentence on what they mean."""
    spec = get_system(kind)
    if not spec.explanations:
        return ""
    methods = ", ".join(f"`{m}`" for m in spec.explanations)
    lines = ["## Explanations", "", f"Methods: {methods} (the first is the paper's and the default; choose with "
             "`explain=...` in the pipeline or `depdetect predict --explain METHOD`).", ""]
    faith = metrics.get("faithfulness")
    if faith:
        lines += _faithfulness_text(faith, spec)
    else:
        lines.append("Faithfulness was not measured for this folder" + (f" ({metrics['faithfulness_skipped']})"
                     if metrics.get("faithfulness_skipped") else "") + ": run `depdetect evaluate MODEL DATA "
                     "--faithfulness --audit`.")
    if metrics.get("audit"):
        lines += _audit_text(metrics["audit"], spec)
    return "\n".join(lines).rstrip() + "\n"


def common_fields(kind: str, metrics: dict, repo_or_path: str, revision: str | None, numbers: dict) -> dict:
    """The fields every system's card template uses (paper, results, trust section, data, versions)."""
    from . import __version__

    spec = get_system(kind)
    card = metrics.get("card", {})
    unit = spec.units
    versions = card.get("versions", {})
    title, url = spec.paper
    return {
        "paper_title": title,
        "paper_url": url,
        "repo_or_path": repo_or_path,
        "revision": revision,
        "test_metrics": numbers,
        "has_metrics": bool(metrics),
        "results_table": results_table(metrics, numbers, unit),
        "trust_section": trust_section(metrics, unit),
        "explanations_section": explanations_section(metrics, kind),
        "data_description": card.get("data_description", "Not recorded."),
        "training_description": card.get("training_description", "Not recorded."),
        "depdetect_version": versions.get("depdetect", __version__),
        "transformers_version": versions.get("transformers", "unknown"),
        "torch_version": versions.get("torch", "unknown"),
    }


def card_for_folder(folder: str | Path, repo_id: str | None = None, revision: str | None = None,
                    template: str | Path | None = None) -> ModelCard:
    """The card of any trained output folder, for local use or (with repo_id/revision) for the Hub: the system's
    own card function (its spec's `card`) on the folder's metrics.json."""
    folder = Path(folder)
    spec = folder_spec(folder)
    return spec.load("card")(folder, read_metrics(folder), repo_id or str(folder), revision, template)
