"""Command-line flags built from dataclasses: every default and its help text are defined once, in a field.

This module is light on purpose (the standard library only), so `depdetect ... --help` builds every flag without
importing torch or transformers. Two kinds of source feed the flags:

* plain dataclasses (`TrainingArguments`, `DataArguments` and each system's own, in `<system>/arguments.py`),
  read with `dataclasses.fields`;
* the model configurations (`HybridConfig`, `DualEncoderConfig`), which travel to the Hub and therefore import
  transformers (and with it torch). Their fields are read from the configuration file's source with `ast`, so the
  config's field stays the one definition of a hyper-parameter and `--help` stays fast. The tests check that the
  source reading and the imported class agree.

A field's `metadata` carries `help` (with the paper section its default comes from), and optionally `choices` and
`aliases` (other spellings of the flag, kept for older command lines).
Boolean fields that default to True become `--no_X` flags (`use_cnn` -> `--no_cnn`); those that default to False
become `--X` switches.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCALARS = {"int": int, "float": float, "str": str}


@dataclass(frozen=True)
class FieldSpec:
    """One field as the command line sees it (from a dataclass or a configuration file's source)."""

    name: str
    annotation: str
    default: Any
    help: str = ""
    choices: tuple | None = None
    aliases: tuple[str, ...] = ()


def _base_type(annotation: str) -> tuple[str, bool]:
    """('int', is_list) from annotations such as 'int', 'int | None', 'list[int] | tuple[int, ...]', 'list[str]'."""
    parts = [p.strip() for p in annotation.split("|") if p.strip() not in ("None", "")]
    first = parts[0] if parts else "str"
    for prefix in ("list[", "tuple["):
        if first.startswith(prefix):
            return first[len(prefix):].split(",")[0].rstrip("]").strip(), True
    return first, False


def _spec(name: str, annotation: str, default: Any, metadata: dict) -> FieldSpec:
    return FieldSpec(
        name=name,
        annotation=annotation,
        default=default,
        help=metadata.get("help", ""),
        choices=tuple(metadata["choices"]) if metadata.get("choices") else None,
        aliases=tuple(metadata.get("aliases", ())),
    )


def dataclass_specs(cls: type, names: tuple[str, ...] | None = None) -> list[FieldSpec]:
    """The fields of a dataclass (all, or `names` in that order) as FieldSpecs."""
    found = {f.name: f for f in dataclasses.fields(cls) if f.init}
    specs = []
    for name in names or tuple(found):
        f = found[name]
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        specs.append(_spec(f.name, annotation, default, dict(f.metadata)))
    return specs


def source_specs(path: str | Path, class_name: str, names: tuple[str, ...]) -> list[FieldSpec]:
    """Fields `names` of class `class_name`, read from the source file `path` without importing it.

    Each field must be written `name: annotation = literal` or `name: annotation = field(default=literal,
    metadata={...literals...})`.
    """
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if body is None:
        raise ValueError(f"{path} defines no class {class_name}.")
    found: dict[str, FieldSpec] = {}
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
            continue
        default, metadata = None, {}
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "field":
            keywords = {k.arg: k.value for k in value.keywords}
            default = ast.literal_eval(keywords["default"]) if "default" in keywords else None
            metadata = ast.literal_eval(keywords["metadata"]) if "metadata" in keywords else {}
        else:
            default = ast.literal_eval(value)
        found[node.target.id] = _spec(node.target.id, ast.unparse(node.annotation), default, metadata)
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"{path}: {class_name} has no literal field(s) {missing}.")
    return [found[n] for n in names]


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "none"
    return str(value)


def _flag_names(spec: FieldSpec) -> list[str]:
    if spec.annotation.split("|")[0].strip() == "bool" and spec.default is True:
        main = "--no_" + spec.name.removeprefix("use_")
    else:
        main = "--" + spec.name
    return [main, *spec.aliases]


def _split_commas(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def add_spec(group, spec: FieldSpec) -> None:
    """Add one flag for `spec` to an argparse parser or argument group (dest = the field name)."""
    base, is_list = _base_type(spec.annotation)
    kwargs: dict[str, Any] = {"dest": spec.name, "default": argparse.SUPPRESS}
    text = spec.help.rstrip()
    if base == "bool" and not is_list:
        kwargs["action"] = "store_false" if spec.default is True else "store_true"
        group.add_argument(*_flag_names(spec), help=text, **kwargs)
        return
    kwargs["type"] = _SCALARS.get(base, str)
    if is_list:
        kwargs["nargs"] = "+"
    if spec.choices:
        kwargs["choices"] = spec.choices
    kwargs["metavar"] = None if spec.choices else spec.name.upper()
    shown = "" if spec.default is None else f" (default: {_show(spec.default)})"
    group.add_argument(*_flag_names(spec), help=text + shown, **kwargs)


@dataclass
class FlagGroup:
    """Flags of one argument group that fill one dataclass (`cls`) or a dict of config fields (`cls` None)."""

    key: str
    specs: list[FieldSpec]
    cls: type | None = None


class FlagSet:
    """The flags of one subcommand, by group; turns a parsed namespace back into dataclasses."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser
        self.groups: list[FlagGroup] = []
        self._seen: dict[str, str] = {}

    def add(self, key: str, title: str, specs: list[FieldSpec], cls: type | None = None) -> None:
        group = self.parser.add_argument_group(title)
        for spec in specs:
            if spec.name in self._seen:
                raise ValueError(f"Flag --{spec.name} is defined by both {self._seen[spec.name]} and {key}.")
            self._seen[spec.name] = key
            add_spec(group, spec)
        self.groups.append(FlagGroup(key, specs, cls))

    def add_dataclass(self, key: str, title: str, cls: type, names: tuple[str, ...] | None = None) -> None:
        self.add(key, title, dataclass_specs(cls, names), cls)

    def add_bundle(self, bundle_cls: type) -> None:
        """One group per field of a system's argument bundle (e.g. HybridArguments): a dataclass field adds that
        dataclass' flags (or only `metadata["names"]`); a `config` field adds `metadata["specs"]()` (model-config
        fields read from source) into a dict. `metadata["title"]` heads the group in --help."""
        hints = typing.get_type_hints(bundle_cls)
        for f in dataclasses.fields(bundle_cls):
            title = f.metadata["title"]
            if "specs" in f.metadata:
                self.add(f.name, title, f.metadata["specs"]())
            else:
                self.add_dataclass(f.name, title, hints[f.name], f.metadata.get("names"))

    def values(self, namespace: argparse.Namespace) -> dict[str, Any]:
        """{group key: dataclass instance (defaults for flags not given) or {config field: value given}}."""
        given = vars(namespace)
        out: dict[str, Any] = {}
        for group in self.groups:
            chosen = {}
            for spec in group.specs:
                if spec.name not in given:
                    continue
                value = given[spec.name]
                if _base_type(spec.annotation) == ("str", True):
                    value = _split_commas(value)
                chosen[spec.name] = value
            out[group.key] = group.cls(**chosen) if group.cls is not None else chosen
        return out


def check_finite(name: str, value: float | None, minimum: float | None = None, strict: bool = False) -> None:
    """A ValueError naming the field when `value` is NaN/inf or below `minimum` (or at it, when `strict`)."""
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}.")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise ValueError(f"`{name}` must be {'>' if strict else '>='} {minimum}, got {value!r}.")


def _help(text: str, **extra: Any) -> dict:
    return {"help": text, **extra}


# -- shared by the systems -------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class DataArguments:
    """Where the data come from. Neither a file nor a dataset: the system's default data (where it has some)."""

    train_file: str | None = field(default=None, metadata=_help(
        "Training data: CSV, TSV, JSON Lines or Parquet in the system's schema."))
    validation_file: str | None = field(default=None, metadata=_help(
        "Validation data (default: 15%% of the training data, stratified)."))
    test_file: str | None = field(default=None, metadata=_help(
        "Test data (default: 15%% of the training data, stratified)."))
    dataset_name: str | None = field(default=None, metadata=_help(
        "A Hub dataset id or a local folder (save_to_disk, or data files), loaded with the datasets library.",
        aliases=["--dataset_dir"]))
    dataset_config: str | None = field(default=None, metadata=_help("The configuration of --dataset_name, if any."))
    encoding: str = field(default="utf-8", metadata=_help(
        "Text encoding of CSV/TSV/JSON files; undecodable bytes stop the run with their line number."))
    group_column: str | None = field(default=None, metadata=_help(
        "A column/field of every record naming its group (e.g. gender, subreddit, source): test metrics per group, "
        "the largest gap and small groups (< 10 positives) flagged, in metrics.json and the card."))

    def __post_init__(self) -> None:
        if self.group_column and not self.user_supplied:
            raise ValueError("--group_column needs your own data (--train_file or --dataset_name); the default data "
                             "has no group column.")
        if self.dataset_name and self.train_file:
            raise ValueError("Pass either --dataset_name or --train_file, not both.")
        if (self.validation_file or self.test_file) and not self.train_file:
            raise ValueError("--validation_file/--test_file need a --train_file.")

    @property
    def user_supplied(self) -> bool:
        return bool(self.train_file or self.dataset_name)

    def describe(self) -> str:
        """How the card names the data: a file or dataset name, never a local folder path."""
        source = self.train_file or self.dataset_name or ""
        return Path(source).name if Path(source).exists() else source


@dataclass(kw_only=True)
class RunArguments:
    """Where a run writes, and on which device."""

    output_dir: str = field(metadata=_help("The Hub-ready folder written at the end."))
    overwrite_output_dir: bool = field(default=False, metadata=_help(
        "Clear OUTPUT_DIR first when it holds another run's output (without it such a folder is refused, so no "
        "folder mixes two runs' files)."))
    cpu: bool = field(default=False, metadata=_help(
        "Force the CPU (also for several CPU processes under torchrun/accelerate launch)."))


@dataclass(kw_only=True)
class TrainingArguments(RunArguments):
    """Settings of the one Accelerate training loop (depdetect.training). Each torch system subclasses this and
    gives the fields without a default here their paper's value."""

    num_epochs: int = field(metadata=_help("Passes over the training data."))
    batch_size: int = field(metadata=_help("Training batch size per process."))
    eval_batch_size: int = field(metadata=_help("Evaluation batch size per process."))
    learning_rate: float = field(metadata=_help("AdamW learning rate of the new (non-encoder) layers."))
    encoder_learning_rate: float | None = field(default=None, metadata=_help(
        "Learning rate of the pretrained encoder (none: the same as --learning_rate)."))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay (not on biases and norms)."))
    warmup_ratio: float = field(default=0.1, metadata=_help("Share of the optimiser steps with a linear warm-up."))
    gradient_accumulation_steps: int = field(default=1, metadata=_help("Batches per optimiser step."))
    max_grad_norm: float = field(default=1.0, metadata=_help("Gradient clipping (0 turns it off)."))
    mixed_precision: str = field(default="no", metadata=_help("Mixed precision.", choices=("no", "fp16", "bf16")))
    seed: int = field(default=42, metadata=_help("Seed of the data splits, initialisation, shuffling and dropout."))
    metric_for_best_model: str | None = field(default=None, metadata=_help(
        "Validation metric that picks the best epoch (lower is better for rmse/mae, higher otherwise)."))
    checkpointing_steps: int = field(default=50, metadata=_help(
        "Optimiser steps between resumable checkpoints (0: only at epoch ends)."))
    keep_checkpoints: int = field(default=2, metadata=_help(
        "Newest checkpoints kept while training (2: a checkpoint torn by a kill still leaves one to resume from)."))
    keep_checkpoints_after_training: bool = field(default=False, metadata=_help(
        "Keep OUTPUT_DIR/checkpoints after a finished run (they hold pickled optimiser and RNG states; by default "
        "they are deleted so the folder holds only what can be published)."))
    resume_from_checkpoint: str | None = field(default=None, metadata=_help(
        "A checkpoint folder, or 'latest' (the newest under OUTPUT_DIR/checkpoints)."))
    max_steps: int = field(default=0, metadata=_help("Stop after this many optimiser steps (0: no limit)."))
    early_stopping_patience: int = field(default=0, metadata=_help(
        "Stop when the validation metric (--metric_for_best_model) has not improved for this many epochs in a row; "
        "the best epoch's weights are kept (0: run every epoch). Prechelt (1998), 'Early stopping - but when?'."))
    report_to: str = field(default="none", metadata=_help(
        "Experiment trackers, through Accelerate: tensorboard, trackio, mlflow, wandb (comma-separated), or none. "
        "They log the training loss and learning rate per optimiser step and the validation metrics per epoch. "
        "TensorBoard writes to OUTPUT_DIR/logs (not published); trackio logs locally; mlflow where "
        "MLFLOW_TRACKING_URI points (by default a local store); wandb runs offline unless WANDB_MODE says otherwise. "
        "Each needs its package (pip install tensorboard, ...)."))

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "eval_batch_size", "gradient_accumulation_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")
        for name in ("checkpointing_steps", "max_steps", "keep_checkpoints", "early_stopping_patience"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}.")
        unknown = [name for name in self.trackers() if name not in TRACKERS]
        if unknown or ("none" in str(self.report_to).lower().replace(" ", "").split(",") and self.trackers()):
            raise ValueError(f"`report_to` must be none or names from {', '.join(TRACKERS)} (comma-separated), got "
                             f"{self.report_to!r}.")
        check_finite("learning_rate", self.learning_rate, 0, strict=True)
        check_finite("encoder_learning_rate", self.encoder_learning_rate, 0)
        check_finite("weight_decay", self.weight_decay, 0)
        check_finite("max_grad_norm", self.max_grad_norm, 0)
        check_finite("warmup_ratio", self.warmup_ratio, 0)
        if self.warmup_ratio >= 1:
            raise ValueError(f"`warmup_ratio` must be in [0, 1), got {self.warmup_ratio}.")

    def trackers(self) -> list[str]:
        """The experiment trackers of `report_to` (none: an empty list)."""
        names = [name.strip().lower() for name in str(self.report_to or "none").split(",")]
        return list(dict.fromkeys(name for name in names if name and name != "none"))


#: the experiment trackers `--report_to` takes (Accelerate's names), with the packages that provide each
TRACKERS = {"tensorboard": ("tensorboard", "tensorboardX"), "trackio": ("trackio",), "mlflow": ("mlflow",),
            "wandb": ("wandb",)}

THRESHOLD_RULES = "0.5, f1, recall@R, precision@P (R, P in (0, 1)) or a number in (0, 1)"


def parse_threshold_rule(rule: object) -> str:
    """A threshold rule checked and written one way: '0.5', 'f1', 'recall@0.9', 'precision@0.8' or a number."""
    text = str(rule).strip().lower()
    if text == "f1":
        return text
    match = re.fullmatch(r"(recall|precision)@([0-9.]+)", text)
    if match:
        try:
            value = float(match.group(2))
        except ValueError:
            value = -1.0
        if not 0 < value < 1:
            raise ValueError(f"--threshold_rule {rule!r}: the target after '@' must be in (0, 1), e.g. recall@0.9.")
        return f"{match.group(1)}@{value:g}"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--threshold_rule must be one of {THRESHOLD_RULES}; got {rule!r}.") from None
    if not 0 < value < 1:
        raise ValueError(f"--threshold_rule {rule!r}: a fixed threshold must be in (0, 1).")
    return f"{value:g}"


@dataclass(kw_only=True)
class EvaluationArguments:
    """What every training run reports beyond point metrics: calibration and the decision threshold (both fitted
    on validation and saved with the model), bootstrap intervals, simple baselines and plots."""

    calibration: str = field(default="auto", metadata=_help(
        "Calibration of P(depression), fitted on validation and saved in the config: auto (temperature scaling for "
        "the neural models, Platt scaling for DORIS), temperature, platt or none.",
        choices=("auto", "temperature", "platt", "none")))
    calibration_min_examples: int = field(default=10, metadata=_help(
        "No calibration is fitted when the validation split holds fewer examples of either class (it would be "
        "noise: Platt scaling on 5 positive users made DORIS's probabilities worse); the run says so."))
    threshold_rule: str = field(default="0.5", metadata=_help(
        "Decision threshold rule on the calibrated validation probabilities, saved and used by pipelines and "
        "predict: 0.5, f1 (best F1), recall@R (highest threshold with recall >= R), precision@P (most recall "
        "with precision >= P), or a number. (--threshold before depdetect 0.8.)", aliases=["--threshold"]))
    bootstrap_resamples: int = field(default=1000, metadata=_help(
        "Bootstrap resamples of the test units for the 95%% percentile intervals (0: no intervals)."))
    baselines: str = field(default="all", metadata=_help(
        "Simple baselines fitted and scored on the same split: all (TF-IDF + logistic regression and mean MiniLM "
        "embedding + logistic regression), tfidf, or none.", choices=("all", "tfidf", "none")))
    plots: bool = field(default=True, metadata=_help(
        "Write no PNG plots (precision-recall, reliability, severity) into the output folder."))
    faithfulness: bool = field(default=True, metadata=_help(
        "Skip the faithfulness check of every explanation method on the test split (ERASER comprehensiveness and "
        "sufficiency against random units, written into metrics.json and the card; for the Hybrid about 2 s per "
        "text on 2 CPU cores)."))
    faithfulness_samples: int = field(default=100, metadata=_help(
        "Test records the faithfulness check samples (`depdetect evaluate --faithfulness` takes 200)."))
    audit: bool = field(default=True, metadata=_help(
        "Skip the shortcut audit on the test split (metrics with label words deleted; interviews on responses vs "
        "prompts only; users' history shape alone)."))
    audit_words: str | None = field(default=None, metadata=_help(
        "The audit's label words, one per line ('depress*' for any ending; default: depress*, suicid*, r/* and the "
        "bundled corpus' subreddit names)."))

    def __post_init__(self) -> None:
        self.threshold_rule = parse_threshold_rule(self.threshold_rule)
        if self.faithfulness_samples < 1:
            raise ValueError(f"`faithfulness_samples` must be >= 1, got {self.faithfulness_samples}.")
        if self.calibration_min_examples < 1:
            raise ValueError(f"`calibration_min_examples` must be >= 1, got {self.calibration_min_examples}.")
        if self.bootstrap_resamples < 0:
            raise ValueError(f"`bootstrap_resamples` must be >= 0, got {self.bootstrap_resamples}.")


def parse_bundle(bundle_cls: type, values: dict[str, Any]) -> Any:
    """Build a system's argument bundle (a dataclass whose fields are the groups) from FlagSet.values()."""
    hints = typing.get_type_hints(bundle_cls)
    kwargs = {}
    for f in dataclasses.fields(bundle_cls):
        if f.name in values:
            kwargs[f.name] = values[f.name]
        elif dataclasses.is_dataclass(hints.get(f.name)):
            kwargs[f.name] = hints[f.name]()
    return bundle_cls(**kwargs)
