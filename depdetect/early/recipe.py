"""`depdetect predict/evaluate MODEL USERS --early`: users scored as their posts arrive, decided by a policy, and
(evaluate) scored with ERDE_o and F_latency next to the usual metrics.

Systems: DORIS (its own streaming state) and the Hybrid (per-post P(depression) aggregated over the posts so far;
`--aggregate`). The decision threshold is, in this order: `--threshold`; chosen on `--validation` users (highest
F_latency there, under the same chunk size, min_posts and patience); the model's saved threshold (DORIS: chosen on
validation users for whole histories; the Hybrid: its threshold for single posts), and the output says which.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import extras, systems
from ..systems import resolve_model
from ..utils import check_outputs, json_safe, plural, write_files, write_json, write_text
from .metrics import early_risk_intervals, early_risk_metrics, penalty_rate
from .options import EarlyOptions
from .policy import DecisionPolicy, choose_early_policy
from .streams import run_stream

logger = logging.getLogger(__name__)

#: users per prefetch batch (their posts are embedded / scored together before they are streamed)
PREFETCH_USERS = 256
#: streams of at least this many posts in all show a progress bar
PROGRESS_POSTS = 200


class StreamingSystem:
    """A loaded model as a source of user streams: its system's `early` adapter from the registry (DORIS's own
    state, the Hybrid aggregate), run for many users with prefetching."""

    def __init__(self, kind: str, predictor, aggregate: str = "max", batch_size: int = 32):
        self.spec = systems.get(kind)
        if self.spec.early is None:
            able = ", ".join(s.name for s in systems.specs() if s.early)
            raise ValueError(f"Early risk detection scores users' posts as they arrive; the {self.spec.cli_name} "
                             f"model scores {self.spec.units}. Use a model of a system that streams users: {able}.")
        self.kind = self.spec.name
        self.streams = self.spec.load("early")(predictor, aggregate, batch_size)

    def run(self, users: list[dict], chunk_size: int, policy: DecisionPolicy | None, evidence: bool,
            what: str = "streaming") -> list[dict]:
        """run_stream for every user, prefetching PREFETCH_USERS users at a time; a progress bar on stderr counts
        the posts read (one long history shows progress as well as many users)."""
        out = []
        total = sum(len(u.get("posts") or []) for u in users)
        with tqdm(total=total, desc=what, unit="post", leave=False, disable=total < PROGRESS_POSTS) as bar:
            for start in range(0, len(users), PREFETCH_USERS):
                group = users[start : start + PREFETCH_USERS]
                self.streams.prefetch(group)
                for user in group:
                    stream = self.streams.stream(user["user_id"], evidence)
                    out.append(run_stream(stream, user, chunk_size, policy, evidence, progress=bar.update))
        return out


def read_users(path: str, labelled: bool, skip_bad: bool, encoding: str, split: str = "test") -> tuple[list, str]:
    """(where, user) pairs from a users file or a dataset's split, each checked as DORIS checks users (whatever
    the model: the Hybrid aggregate reads users too)."""
    from ..data import check_user_record
    from ..inference import checked_records, evaluation_rows

    rows, source = evaluation_rows(path, split, encoding)
    return checked_records(rows, SimpleNamespace(check_record=check_user_record), labelled, skip_bad, source), source


def resolve_policy(system: StreamingSystem, options: EarlyOptions, skip_bad: bool, encoding: str) -> tuple[
        DecisionPolicy, dict | None]:
    """The decision policy (see the module docstring) and, when chosen on validation users, what it gave there."""
    if options.decision_threshold is not None:
        return DecisionPolicy(options.decision_threshold, options.min_posts, options.patience,
                              rule="given (--decision_threshold)"), None
    if options.validation:
        records, source = read_users(options.validation, True, skip_bad, encoding, options.validation_split)
        runs = system.run([r for _, r in records], options.chunk_size, None, False, "validation users")
        trajectories = [r["trajectory"] for r in runs]
        policy, found = choose_early_policy(trajectories, options.min_posts, options.patience, p=options.latency_p)
        policy.rule = f"highest F_latency on the {len(trajectories)} users of {source}"
        return policy, {"data": source, "users": len(trajectories), **found}
    threshold, rule = system.streams.saved_threshold()
    return DecisionPolicy(threshold, options.min_posts, options.patience, rule=rule), None


def _load(model: str, revision: str | None, device: Any, aggregate: str, batch_size: int) -> StreamingSystem:
    from ..inference import load_system

    spec, folder, predictor = load_system(model, revision)
    if spec.early is None:
        StreamingSystem(spec.name, None)  # raises the clear error before loading anything
    return StreamingSystem(spec.name, predictor.load_predictor(folder, device), aggregate, batch_size)


def _plot_folder(output: str) -> Path:
    """Where `predict --early -o OUT` puts its trajectory plot: beside OUT (<stem>_plots/)."""
    stem = Path(output)
    return stem.with_name(stem.stem + "_plots")


def _policy_text(policy: DecisionPolicy, chunk_size: int) -> str:
    return (f"flag when P(depression) >= {policy.threshold:.4f} after >= {policy.min_posts} posts, "
            f"{plural(policy.patience, 'step')} in a row, reading {plural(chunk_size, 'post')} per step; "
            f"threshold: {policy.rule}")


def _plot(runs: list[dict], policy: DecisionPolicy, folder: Path) -> list[str]:
    if not extras.installed("plots"):
        logger.warning("No trajectories plot: matplotlib is not installed (pip install 'depdetect[plots]').")
        return []
    from ..plots import trajectories_plot

    files = {"trajectories.png": trajectories_plot([r["trajectory"] for r in runs], [r["decision"] for r in runs],
                                                   policy.threshold)}
    write_files(folder, files)
    return [str(folder / name) for name in files]


def predict_early_file(model: str, input_path: str, output: str | None, output_format: str | None,
                       options: EarlyOptions, batch_size: int = 32, skip_bad: bool = False, explain: bool = True,
                       device: Any = None, revision: str | None = None, encoding: str = "utf-8") -> list[dict]:
    """Each user's score trajectory, decision (and its delay) and the evidence at the decision; written as JSON
    Lines or CSV, with a plot of a few trajectories beside `output` (`<stem>_plots/trajectories.png`)."""
    from ..inference import to_csv

    records, _ = read_users(input_path, False, skip_bad, encoding)  # before the model: bad input is said at once
    check_outputs({"-o": output, "the trajectory plot folder": _plot_folder(output) if output else None},
                  {"the input file": input_path, "--validation": options.validation},
                  {"the model folder": resolve_model(model, revision)})
    system = _load(model, revision, device, options.aggregate, batch_size)
    policy, _ = resolve_policy(system, options, skip_bad, encoding)
    runs = system.run([r for _, r in records], options.chunk_size, policy, explain)
    print(f"Policy: {_policy_text(policy, options.chunk_size)}.", file=sys.stderr)
    results = []
    for (where, user), run in zip(records, runs):
        decision, trajectory = run["decision"], run["trajectory"]
        row = {"record": where, "user_id": user["user_id"],
               "label": "depression" if decision.decision else "control",
               "flagged": bool(decision.decision), "decided_after_posts": decision.delay,
               "num_posts": trajectory.num_posts, "final_probability": trajectory.scores[-1],
               "trajectory": [{"posts_seen": k, "probability": s}
                              for k, s in zip(trajectory.posts_seen, trajectory.scores)],
               "threshold": policy.threshold}
        if decision.decision:
            row["decided_at"] = run["decided_at"]
        if run["note"]:
            row["note"] = run["note"]
        if explain:
            row["evidence"] = run["evidence"]
        results.append(row)
    fmt = output_format or ("csv" if output and output.lower().endswith(".csv") else "jsonl")
    text = to_csv(results) if fmt == "csv" else "".join(json.dumps(json_safe(r), ensure_ascii=False) + "\n"
                                                      for r in results)
    if output:
        write_text(output, text)
        plots = _plot(runs, policy, _plot_folder(output))
        print(f"Wrote {len(results)} trajectories to {output} and a plot to {plots[0]}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return results


def evaluate_early_file(model: str, data: str, output: str | None, options: EarlyOptions, split: str = "test",
                        batch_size: int = 32, skip_bad: bool = False, device: Any = None, revision: str | None = None,
                        encoding: str = "utf-8", bootstrap_resamples: int = 1000, baselines: str = "all",
                        plots_dir: str | None = None, plots: bool = True, seed: int = 0) -> dict:
    """ERDE_o, F_latency, latency_TP (with bootstrap intervals, users resampled) next to the usual metrics of the
    final scores (with their report: calibration, baselines cross-fitted on the users' posts), printed and written
    as JSON with the trajectory plot (and the usual plots)."""
    from ..inference import evaluation_report, plots_folder
    from ..reporting import format_report, plots_for, public

    records, source = read_users(data, True, skip_bad, encoding, split)  # before the model, as predict does
    check_outputs({"-o": output, "--plots_dir": plots_folder(output, plots_dir) if plots else None},
                  {"the data": data, "--validation": options.validation},
                  {"the model folder": resolve_model(model, revision)})
    users = [r for _, r in records]
    labels = np.array([u["label"] for u in users])
    system = _load(model, revision, device, options.aggregate, batch_size)
    policy, chosen = resolve_policy(system, options, skip_bad, encoding)
    runs = system.run(users, options.chunk_size, policy, False)
    decisions = np.array([r["decision"].decision for r in runs])
    delays = np.array([r["decision"].delay for r in runs])
    num_posts = [r["trajectory"].num_posts for r in runs]
    p = options.latency_p if options.latency_p is not None else penalty_rate(num_posts)
    early = early_risk_metrics(decisions, delays, labels, p=p, deadlines=options.erde_o, c_fp=options.c_fp)
    intervals = early_risk_intervals(decisions, delays, labels, p, options.erde_o, options.c_fp,
                                     bootstrap_resamples, seed)
    final = [r["trajectory"].scores[-1] for r in runs]
    inputs = system.streams.final_inputs(runs, labels.tolist(), [[p["text"] for p in u["posts"]] for u in users],
                                         policy)
    report = evaluation_report(inputs, None, bootstrap_resamples, baselines, seed)
    unit = f"{len(users)} users"
    print(format_report(report, f"{system.kind} on {source} ({unit}), whole histories"))
    print(early_table(early, intervals, policy, options.chunk_size, p))
    result = {"model": str(model), "system": system.kind, "data": source, "num_records": len(users),
              "early": {"metrics": early, "intervals": intervals, "policy": {**policy.as_dict(),
                        "chunk_size": options.chunk_size}, "chosen_on_validation": chosen,
                        "p_rule": "given (--latency_p)" if options.latency_p is not None else
                        "ln(3) / (median posts per user - 1), from DATA",
                        "median_posts": float(np.median(num_posts))},
              "report": public(report), "metrics": report["test"],
              "users": [{"user_id": u["user_id"], "label": int(u["label"]), "flagged": int(r["decision"].decision),
                         "delay": int(r["decision"].delay), "num_posts": r["trajectory"].num_posts,
                         "final_probability": s} for u, r, s in zip(users, runs, final)]}
    result["early"].update(system.streams.describe())
    notes = [r["note"] for r in runs if r["note"]]
    if notes:
        result["early"]["ordering_notes"] = notes
    if plots:
        folder = plots_folder(output, plots_dir)
        files = {Path(name).name: content for name, content in plots_for(report).items()}
        write_files(folder, files)
        result["plots"] = [str(folder / name) for name in files] + _plot(runs, policy, folder)
        print(f"Wrote {len(result['plots'])} plots to {folder}.")
    if output:
        write_json(output, result)
        print(f"Wrote the metrics to {output}.")
    return result


def early_table(metrics: dict, intervals: dict, policy: DecisionPolicy, chunk_size: int, p: float) -> str:
    """The console table of the early-risk metrics."""
    title = "Early risk detection (decisions as the posts arrive)"
    lines = [title, "-" * len(title)]
    for key in [k for k in metrics if k.startswith("erde_")] + ["f_latency", "f1", "precision", "recall", "speed",
                                                                 "latency_tp", "users_flagged"]:
        value = metrics[key]
        low, high = intervals.get(key, [None, None])
        shown = "n/a" if isinstance(value, float) and math.isnan(value) else (
            f"{value:.4f}" if isinstance(value, float) else str(value))
        span = f"[{low:.4f}, {high:.4f}]" if low is not None and not math.isnan(low) else ""
        name = key + (" (x100, lower is better)" if key.startswith("erde_") else "")
        lines.append(f"{name:<34}{shown:>10}  {span}")
    lines.append(f"policy: {_policy_text(policy, chunk_size)}")
    lines.append(f"F_latency penalty rate p = {p:.5f}; ERDE c_fp = {metrics['c_fp']:.4f}")
    return "\n".join(lines)
