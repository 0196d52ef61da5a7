"""`depdetect predict` and `depdetect evaluate` for any trained system, detected from the model folder.

Every record is read and checked before the model loads and before anything is written: a bad record stops the
run with its file and line (or is skipped and reported with `skip_bad`), so no partial output exists; the input is
streamed and, under `torchrun` / `accelerate launch`, scored in shares across processes (depdetect.scoring). Each
system's `predictor.py` (named by its spec in the registry) supplies the parts that differ: the `Predictor` protocol
below.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from .audit import audit_lines, read_audit_words
from .baselines import cross_fitted_baselines
from .data import TABLE_SUFFIXES, check_data_file, iter_records, load_dataset_dict, read_records
from .export import EXPORT_FILE, export_files, exported_explanations, is_export
from .faithfulness import faithfulness_table, measure_faithfulness
from .folders import check_model_folder
from .reporting import classification_report, format_report, plots_for, public, read_groups, regression_report
from .scoring import (
    ID_FIELDS,
    Processes,
    RowSource,
    check_all,
    csv_cells,
    describe,
    good_records,
    score_all,
    spooled_stdin,
)
from .systems import SystemSpec, folder_spec, resolve_model
from .systems import get as get_system
from .utils import check_outputs, format_number, write_files, write_json, write_text


class Predictor(Protocol):
    """What a system's `predictor.py` module provides to `depdetect predict` / `evaluate`, the demo and the Space."""

    def load_predictor(self, folder: str | Path, device: Any = None) -> Any:
        """The loaded model of a saved folder (a transformers pipeline, a DorisPipeline, ...)."""

    def check_record(self, record: Any, where: str, labelled: bool, **options) -> dict:
        """One input record as the system reads it; a ValueError naming `where` and the fix otherwise."""

    def predict(self, predictor: Any, records: list[dict], explain: bool = True, uncalibrated: bool = False
                ) -> list[dict]:
        """One output row per checked record (with its explanation when `explain`)."""

    def score_predictions(self, outputs: list[dict], records: list[dict], predictor: Any) -> dict:
        """Point metrics of the outputs against the records' labels or scores."""

    def evaluation_inputs(self, outputs: list[dict], records: list[dict], predictor: Any) -> dict | None:
        """What the trust report reads (task, y, uncalibrated scores, calibration, threshold, documents); None for
        point metrics only."""

    def attributions(self, predictor: Any, records: list[dict], method: str) -> list[list[float]]:
        """One weight per unit (word, turn, post) per record by one of the spec's `explanations`."""

    def unit_scorer(self, predictor: Any, record: dict) -> tuple[Any, bool]:
        """(a scorer of kept-unit lists, whether changes count by size): see depdetect.faithfulness."""

    def audit(self, predictor: Any, records: list[dict], outputs: list[dict], words: tuple[str, ...],
              resamples: int, seed: int) -> dict:
        """The shortcut audit (depdetect.audit) of labelled records and their predictions."""


def load_system(model: str, revision: str | None = None) -> tuple[SystemSpec, Path, Predictor]:
    """(spec, folder, predictor module) of a model folder or Hub repo id, its files checked (present, inside the
    folder, readable) before anything is loaded."""
    folder = resolve_model(model, revision)
    spec = folder_spec(folder)
    if is_export(folder):
        check_model_folder(folder, ("config.json", EXPORT_FILE))  # readable before export.json is read
        check_model_folder(folder, export_files(folder))
    else:
        check_model_folder(folder, spec.required_files + spec.artifacts)
    return spec, folder, spec.load("predictor")


def export_explain(folder: Path, explain: bool | str, model: str) -> bool | str:
    """`explain` as an exported graph can answer it: the default (True) keeps the explanations the export still
    gives, or becomes predictions alone (said on stderr); a method asked for by name that the export lost is
    refused before any work."""
    if explain is False or not is_export(folder):
        return explain
    kept = exported_explanations(folder)
    if explain is True:
        if not kept:
            print(f"note: {model} is an exported graph; it predicts without explanations (the trained folder it "
                  "came from explains).", file=sys.stderr)
        return bool(kept)
    lost = [name for name in explain.split(",") if name not in kept]
    if lost:
        raise ValueError(f"--explain {explain!r}: {model} is an exported graph, which gives "
                         f"{', '.join(kept) or 'no explanations'}; explain with the trained folder it came from.")
    return explain


def check_explain(spec: SystemSpec, explain: bool | str) -> bool | str:
    """`explain` as given (True, False) or a comma-separated list of the system's explanation methods, checked before
    any work."""
    if isinstance(explain, bool):
        return explain
    if not spec.explanations:
        raise ValueError(f"--explain {explain!r}: the {spec.name} system has no explanation methods to choose from.")
    names = [n.strip() for n in str(explain).split(",") if n.strip()]
    unknown = [n for n in names if n not in spec.explanations]
    if unknown or not names:
        raise ValueError(f"--explain {explain!r}: the {spec.name} system's explanation methods are "
                         f"{', '.join(spec.explanations)} (default: {spec.explanations[0]}).")
    return ",".join(names)


def checked_records(rows: list[tuple[str, Any]], system, labelled: bool, skip_bad: bool, source: str,
                    **options) -> list[tuple[str, dict]]:
    """Every row checked by the system's `check_record`; bad rows stop the run (nothing written), or are skipped
    and reported on stderr with `skip_bad`."""
    if not rows:
        raise ValueError(f"{source} holds no records.")
    good, bad = [], []
    for where, row in rows:
        try:
            good.append((where, system.check_record(row, where, labelled, **options)))
        except ValueError as err:
            bad.append(str(err))
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ValueError(f"{bad[0].rstrip('.')}{more}. Nothing was written: fix the record(s), or pass --skip_bad "
                         "to leave them out.")
    for message in bad:
        print(f"skipped: {message}", file=sys.stderr)
    if not good:
        raise ValueError(f"None of the {len(rows)} records of {source} could be used.")
    return good


def run_batches(system, predictor, records: list[dict], batch_size: int, explain: bool, what: str,
                **options) -> list[dict]:
    """The system's predictions for `records`, `batch_size` at a time, with a progress bar on stderr."""
    outputs: list[dict] = []
    with tqdm(
        total=len(records), desc="predicting", unit=what, leave=False, disable=len(records) <= batch_size
    ) as bar:
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            outputs += system.predict(predictor, batch, explain=explain, **options)
            bar.update(len(batch))
    return outputs


def predict_file(model: str, input_path: str, output: str | None = None, output_format: str | None = None,
                 batch_size: int = 32, skip_bad: bool = False, explain: bool = True, device: Any = None,
                 revision: str | None = None, encoding: str = "utf-8", text_column: str = "text",
                 html: str | None = None, shard_outputs: bool = False) -> list[dict] | dict:
    """Predict (and explain: True for the system's default explanation, or method names joined by commas, e.g.
    "nas,integrated_gradients") every record of `input_path` (`-`: JSON Lines on stdin) with a trained model; write
    JSON Lines or CSV to `output` (stdout when None), and with `html` a self-contained HTML report of the
    predictions (depdetect.report_html).

    The input is streamed twice (checked, then scored; depdetect.scoring): memory does not grow with its length,
    a bad record leaves no output, and under `torchrun` / `accelerate launch` each process scores its share
    (`shard_outputs`: one file per process instead of one merged file). Returns the output rows with `html` (the
    report holds them all), else a summary: predictions, processes, seconds, rate, outputs."""
    fmt = output_format or ("csv" if output and output.lower().endswith(".csv") else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"--format must be jsonl or csv, got {fmt!r}.")
    if input_path != "-":
        check_data_file(input_path)  # before the model: a missing file or an unknown type is said at once
    spec, folder, system = load_system(model, revision)
    explain = export_explain(folder, check_explain(spec, explain), model)
    check_outputs({"-o": output, "--html": html}, {"the input file": input_path}, {"the model folder": folder})
    with spooled_stdin(input_path) as path:
        def source():
            return iter_records(path, encoding, name="<stdin>" if input_path == "-" else None)

        total = check_all(source, system, False, skip_bad, input_path, text_column=text_column)
        processes = Processes(device)
        predictor = system.load_predictor(folder, device if device is not None else processes.device)
        result = score_all(source, system, lambda batch: system.predict(predictor, batch, explain=explain),
                           total=total, batch_size=batch_size, unit=spec.unit,
                           output=Path(output) if output else None, fmt=fmt,
                           splits_work_itself=spec.splits_work_itself, shard_outputs=shard_outputs,
                           keep=(lambda lines: [json.loads(line) for line in lines]) if html else None,
                           processes=processes, text_column=text_column)
        if not processes.main:
            return result
        print(describe(result, spec.unit), file=sys.stderr)
        if not html:
            return result
        from .report_html import render_report

        rows = result["kept"]
        records = [r for _, r in good_records(source, system, False, text_column=text_column)]
        write_text(html, render_report(spec.name, rows, records, model=str(model), source=str(input_path)))
        print(f"Wrote the HTML report to {html}.", file=sys.stderr)
        return rows


def plots_folder(output: str | None, plots_dir: str | None) -> Path:
    """Where `evaluate` writes its plots: `plots_dir`, else beside the JSON (evaluation.json -> evaluation_plots/)."""
    stem = Path(output or "evaluation.json")
    return Path(plots_dir) if plots_dir else stem.with_name(stem.stem + "_plots")


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV: scalar fields as columns, lists and dicts (the explanations) as JSON text."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_cells(row))
    return buffer.getvalue()


def evaluation_rows(data: str, split: str, encoding: str) -> tuple[list[tuple[str, Any]], str]:
    """(where, record) rows of labelled data: a file, or one split of a dataset (folder or Hub id)."""
    if data == "-":
        return read_records(data, encoding), data
    source, label = evaluation_source(data, split, encoding)
    return list(source()), label


def evaluation_source(data: str, split: str, encoding: str) -> tuple[RowSource, str]:
    """(a re-readable source of (where, record) rows, its name) of labelled data: a file (streamed), or one split
    of a dataset (folder or Hub id; rows read from its memory-mapped table as they are needed)."""
    path = Path(data)
    if path.is_file():
        check_data_file(path)
        return (lambda: iter_records(path, encoding)), data
    if path.suffix.lower() in TABLE_SUFFIXES:
        raise FileNotFoundError(f"No such data file: {data}")
    loaded = load_dataset_dict(data)
    name = split if split in loaded else (next(iter(loaded)) if len(loaded) == 1 else None)
    if name is None:
        raise ValueError(f"{data} has no split {split!r} (splits: {list(loaded)}); pass --split.")
    return (lambda: ((f"{data}[{name}] row {i}", row) for i, row in enumerate(loaded[name]))), f"{data}[{name}]"


def evaluate_file(model: str, data: str, output: str | None = "evaluation.json", split: str = "test",
                  batch_size: int = 32, skip_bad: bool = False, device: Any = None, revision: str | None = None,
                  encoding: str = "utf-8", text_column: str = "text", group_column: str | None = None,
                  bootstrap_resamples: int = 1000, baselines: str = "all", plots_dir: str | None = None,
                  plots: bool = True, seed: int = 0, faithfulness: bool = False, faithfulness_samples: int = 200,
                  audit: bool = False, audit_words: str | None = None) -> dict | None:
    """A trained model's metrics on labelled data, with bootstrap intervals, calibration (ECE/Brier before and
    after the saved calibration), the saved threshold, conformal coverage, cross-fitted baselines, per-group
    metrics (`group_column`) and plots; with `faithfulness`, every explanation method's ERASER measures against
    random units on `faithfulness_samples` records (depdetect.faithfulness); with `audit`, the shortcut audit
    (depdetect.audit; `audit_words`: a file of label words). Printed as tables and written as JSON to `output`.

    The data is streamed (checked, then scored; depdetect.scoring) and under `torchrun` / `accelerate launch` each
    process scores its share; the main process then holds the records and their outputs (the metrics, baselines
    and checks read them all) and returns the result (None on the other processes)."""
    words = read_audit_words(audit_words) if audit else None
    with spooled_stdin(data) as path:
        source, label = evaluation_source(path, split, encoding)  # before the model: a missing file is said at once
        label = "<stdin>" if data == "-" else label
        spec, folder, system = load_system(model, revision)
        check_explanation_checks(spec, system, faithfulness, audit)
        if faithfulness and is_export(folder) and not set(spec.explanations) <= set(exported_explanations(folder)):
            raise ValueError("--faithfulness checks explanations, which an exported graph does not give: evaluate the "
                             "trained folder it came from.")
        check_outputs({"-o": output, "--plots_dir": plots_folder(output, plots_dir) if plots else None},
                      {"the data": data}, {"the model folder": folder})
        scored = scored_records(source, label, spec, system, folder, batch_size, skip_bad, device, text_column,
                                group_column)
    if scored is None:
        return None
    plain, outputs, predictor, groups = scored
    source = label
    metrics = system.score_predictions(outputs, plain, predictor)
    report = evaluation_report(system.evaluation_inputs(outputs, plain, predictor), groups, bootstrap_resamples,
                          baselines, seed)
    result = {"model": str(model), "system": spec.name, "data": source, "num_records": len(plain),
              "metrics": metrics}
    title = f"{spec.name} on {source} ({len(plain)} {spec.units})"
    if report is None:
        print(metrics_table(metrics, title))
    else:
        report["test"] = {**metrics, **report["test"]}
        print(format_report(report, title))
        result["report"] = public(report)
        if plots:  # beside the JSON: evaluation.json -> evaluation_plots/pr_curve.png, ...
            folder_out = plots_folder(output, plots_dir)
            files = {Path(name).name: content for name, content in plots_for(report).items()}
            write_files(folder_out, files)
            result["plots"] = [str(folder_out / name) for name in files]
            if files:
                print(f"Wrote {len(files)} plots to {folder_out}.")
    result.update(explanation_checks(spec, system, predictor, plain, outputs, faithfulness, faithfulness_samples,
                                     words, bootstrap_resamples, seed))
    if output:
        write_json(output, result)
        print(f"Wrote the metrics to {output}.")
    return result


def scored_records(source: RowSource, label: str, spec: SystemSpec, system, folder: Path, batch_size: int,
                   skip_bad: bool, device: Any, text_column: str, group_column: str | None):
    """evaluate's scoring: (records, outputs, predictor, groups) on the main process, None on the others."""
    total = check_all(source, system, True, skip_bad, label, text_column=text_column)
    processes = Processes(device)
    predictor = system.load_predictor(folder, device if device is not None else processes.device)
    explain = spec.explain_when_evaluating
    result = score_all(source, system, lambda batch: system.predict(predictor, batch, explain=explain,
                                                                    uncalibrated=True),
                       total=total, batch_size=batch_size, unit=spec.unit, output=None, fmt="jsonl",
                       splits_work_itself=spec.splits_work_itself, labelled=True, processes=processes,
                       keep=lambda lines: [json.loads(line) for line in lines], text_column=text_column,
                       write=False)
    if not processes.main:
        return None
    outputs = [{k: v for k, v in row.items() if k != "record" and k not in ID_FIELDS} for row in result["kept"]]
    records = [r for _, r in good_records(source, system, True, text_column=text_column)]
    groups = None
    if group_column:
        values = []
        for where, row in source():
            try:
                system.check_record(row, where, True, text_column=text_column)
            except ValueError:
                continue
            values.append(row.get(group_column) if isinstance(row, dict) else None)
        groups = read_groups(values, group_column)
    return records, outputs, predictor, groups


def check_explanation_checks(spec: SystemSpec, system, faithfulness: bool, audit: bool) -> None:
    """Refuse --faithfulness / --audit for a system that has no explanations or audit, before any work."""
    for asked, needs, what in ((faithfulness, "unit_scorer", "--faithfulness"), (audit, "audit", "--audit")):
        if asked and (not spec.explanations or not hasattr(system, needs)):
            raise ValueError(f"{what}: the {spec.name} system has no explanation methods or audit to check.")


def explanation_checks(spec: SystemSpec, system, predictor, records: list[dict], outputs: list[dict],
                       faithfulness: bool, samples: int, words: tuple[str, ...] | None, resamples: int, seed: int
                       ) -> dict:
    """{"faithfulness": ..., "audit": ...} as asked for (each printed as it is done); empty when neither is."""
    check_explanation_checks(spec, system, faithfulness, words is not None)
    out = {}
    if faithfulness:
        out["faithfulness"] = measure_faithfulness(spec, system, predictor, records, samples, seed,
                                                   resamples=resamples)
        print(faithfulness_table(out["faithfulness"], f"Faithfulness of the explanations, {spec.explanation_unit} "
                                                      f"by {spec.explanation_unit}"))
    if words is not None:
        out["audit"] = system.audit(predictor, records, outputs, words, resamples, seed)
        print("\n".join(audit_lines(out["audit"])))
    return out


def training_checks(system_name: str, predictor, records: list[dict], evaluation, seed: int) -> dict:
    """The faithfulness check and the shortcut audit of a freshly trained model on its test records, as
    `EvaluationArguments` asks (`faithfulness`, `faithfulness_samples`, `audit`, `audit_words`), for metrics.json;
    `explanation_checks_seconds` says what they cost."""
    from time import perf_counter

    if not (evaluation.faithfulness or evaluation.audit):
        return {}
    started = perf_counter()
    spec = get_system(system_name)
    system = spec.load("predictor")
    outputs = run_batches(system, predictor, records, 32, spec.explain_when_evaluating,
                          spec.unit) if evaluation.audit else []
    words = read_audit_words(evaluation.audit_words) if evaluation.audit else None
    out = explanation_checks(spec, system, predictor, records, outputs, evaluation.faithfulness,
                             evaluation.faithfulness_samples, words, evaluation.bootstrap_resamples, seed)
    out["explanation_checks_seconds"] = round(perf_counter() - started, 1)
    return out


def evaluation_report(inputs: dict | None, groups, resamples: int, baselines: str, seed: int) -> dict | None:
    """The evaluation report of a system's `evaluation_inputs` (None: the system reports point metrics only).
    Baselines are cross-fitted (5 stratified folds) on the evaluated data itself: `depdetect evaluate` has no
    training split, and what a simple model learns from this very data is the comparison a reader needs."""
    if inputs is None:
        return None
    task = inputs["task"]
    scores = {}
    if baselines != "none":
        try:
            scores = cross_fitted_baselines(inputs["documents"], inputs["y"], task, baselines, seed=seed)
        except ValueError as err:  # e.g. fewer than 2 examples of a class
            print(f"note: no baselines ({err})", file=sys.stderr)
    if task == "regression":
        conformal = inputs.get("conformal")
        return regression_report(test_y=inputs["y"], test_pred=inputs["prediction"],
                                 conformal=conformal if conformal else {}, baseline_scores=scores, groups=groups,
                                 resamples=resamples, seed=seed)
    report = classification_report(
        test_y=inputs["y"], test_raw=inputs["uncalibrated"], fitted_calibration=inputs.get("calibration") or {},
        threshold=inputs.get("decision_threshold"),
        threshold_rule=inputs.get("threshold_rule") or "0.5 (argmax)",
        baseline_scores=scores, groups=groups, resamples=resamples, seed=seed)
    report.pop("saved_calibration", None)
    return report


def metrics_table(metrics: dict, title: str) -> str:
    """A plain-text table of metric names and values."""
    width = max(len(k) for k in metrics)
    lines = [title, "-" * max(len(title), width + 12)]
    for key, value in metrics.items():
        shown = format_number(value)
        lines.append(f"{key:<{width}}  {shown:>10}")
    return "\n".join(lines)
