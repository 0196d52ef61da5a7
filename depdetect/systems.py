"""THE registry of systems: one `SystemSpec` per system, declared by the system's own light `__init__.py`.

Shared code (the command line, predict / evaluate, cards, the demo, the HTML report, publishing, Spaces, run
folders, early risk detection) asks the registry what differs between systems instead of keeping its own table or
branching on a system's name. A spec names the heavy parts by import path ("package.module:attribute") and they are
imported on first use, so `depdetect --help` reads the registry without importing torch.

Adding a system: a folder `depdetect/<name>/` whose `__init__.py` defines `SPEC = SystemSpec(...)`, and its
package path in `REGISTERED` below (or `register(spec)` at run time, as tests/test_registry.py does with a toy).

Standard library only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .utils import looks_like_path, read_json

#: the packages whose `__init__.py` declares a `SPEC`, in the order the command line lists them
REGISTERED = ("depdetect.hybrid", "depdetect.dual_encoder", "depdetect.doris")


@dataclass(frozen=True)
class SystemSpec:
    """Everything shared code needs to know about one system.

    Args:
        name: the system's name in code, saved folders and metrics.json (`hybrid`, `dual_encoder`, `doris`).
        cli_name: its name on the command line (`depdetect train dual-encoder`).
        unit: what one input record is (`text`, `interview`, `user`); plural: `units`.
        paper: (title, URL) of the paper the system implements, for cards and help.
        description: the `depdetect train SYSTEM --help` text (its first clause is the one-line summary).
        arguments: "module:Class" of the argument bundle the command line builds the training flags from.
        trainer: "module:function" that trains it from that bundle (`on_step` is passed when it accepts one).
        predictor: the module implementing `depdetect.inference.Predictor` (load, check, predict, score).
        card: "module:function" `(folder, metrics, repo_or_path, revision, template) -> ModelCard`.
        views: the module with `html_section(row, record)` and `demo_tab(gr, tab, suffix)` (standard library and
            Gradio only: a Space of a remote-code model carries it without the rest of depdetect).
        model_type: the `model_type` in config.json that marks a saved folder of this system, or
        marker_file: a file whose presence marks one (DORIS: doris_config.json).
        artifacts: files whose SHA-256 metrics.json records (what the metrics were measured on).
        required_files: files a complete folder must hold before it is published.
        output_names: other names a training run writes into its output folder (the dual encoder's donor/ and
            receiver/), so that `--overwrite_output_dir` knows them as its own.
        remote_code: saved folders carry modeling/pipeline code (`trust_remote_code=True` loads them).
        pipeline_task: the transformers pipeline task of a remote-code model.
        transformers_auto: "module:function" registering its classes with transformers' Auto classes and its
            pipeline task (run by depdetect.auto on first use of a model class).
        explain_when_evaluating: `depdetect evaluate` asks for explanations (the dual encoder's metrics read its
            attention).
        explanations: the names of its explanation methods (`depdetect predict --explain`, the faithfulness
            check), the paper's first; its predictor then provides `attributions` and `unit_scorer`
            (depdetect.faithfulness).
        explanation_unit: what its explanations weigh (`word`, `turn`, `post`); unit_removal: how a unit is taken
            out when faithfulness is measured, in words (cards and evaluation.json say it).
        early: "module:Class" of its user streams for `--early` (None: no early risk detection).
        demo_title: the demo tab's title; shows: what the demo shows (Space README).
        corpora: the system's own corpus converters for `depdetect data`: (name, module with `main(argv)`,
            one-line description) each (the simulated cohorts).
        extra: the optional extra (depdetect.extras) its training and prediction need; loading its trainer,
            predictor or early-risk streams without it says which to install.
    """

    name: str
    cli_name: str
    unit: str
    paper: tuple[str, str]
    description: str
    arguments: str
    trainer: str
    predictor: str
    card: str
    views: str
    model_type: str | None = None
    marker_file: str | None = None
    artifacts: tuple[str, ...] = ()
    required_files: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    remote_code: bool = False
    pipeline_task: str | None = None
    transformers_auto: str | None = None
    explain_when_evaluating: bool = False
    explanations: tuple[str, ...] = ()
    explanation_unit: str = ""
    unit_removal: str = ""
    early: str | None = None
    demo_title: str = ""
    shows: str = ""
    corpora: tuple[tuple[str, str, str], ...] = ()
    extra: str | None = None
    splits_work_itself: bool = False
    exporter: str | None = None

    def __post_init__(self):
        if (self.model_type is None) == (self.marker_file is None):
            raise ValueError(f"SystemSpec {self.name!r}: give exactly one of `model_type` and `marker_file`, so "
                             "that a saved folder can be told apart.")
        if self.unit.endswith("s"):
            raise ValueError(f"SystemSpec {self.name!r}: `unit` is singular (e.g. 'text'), got {self.unit!r}.")

    @property
    def units(self) -> str:
        return f"{self.unit}s"

    def load(self, attribute: str) -> Any:
        """The object one of the import-path fields names (`spec.load("trainer")`), imported now (the trainer,
        predictor and early-risk streams only with the system's extra installed)."""
        if self.extra and attribute in ("trainer", "predictor", "early"):
            from .extras import require

            require(self.extra, f"{self.name} ({attribute})")
        return load_object(getattr(self, attribute))


def load_object(path: str) -> Any:
    """The object "package.module:attribute" names (a module for a path without ':')."""
    module, _, attribute = path.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


_SPECS: dict[str, SystemSpec] = {}


def register(spec: SystemSpec) -> SystemSpec:
    """Add (or replace) a system; its command-line name and folder marker must not clash with another's."""
    for other in _SPECS.values():
        if other.name == spec.name:
            continue
        if other.cli_name == spec.cli_name or (spec.model_type and other.model_type == spec.model_type) or (
                spec.marker_file and other.marker_file == spec.marker_file):
            raise ValueError(f"System {spec.name!r} clashes with {other.name!r} (command-line name, model_type or "
                             "marker file): each must be its own.")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _SPECS.pop(name, None)


def _load_registered() -> None:
    if not _SPECS:
        for package in REGISTERED:
            register(importlib.import_module(package).SPEC)


def specs() -> list[SystemSpec]:
    """Every registered system, in registration order."""
    _load_registered()
    return list(_SPECS.values())


def get(name: str) -> SystemSpec:
    """The spec of a system by its name or command-line name."""
    for spec in specs():
        if name in (spec.name, spec.cli_name):
            return spec
    raise ValueError(f"Unknown system {name!r}: one of {', '.join(s.name for s in specs())}.")


def folder_spec(folder: str | Path) -> SystemSpec:
    """The spec of the system a saved model folder holds; a ValueError saying why otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: pass a trained model folder (e.g. outputs/hybrid) or a Hub repo "
                         "id.")
    for spec in specs():
        if spec.marker_file and (folder / spec.marker_file).is_file():
            return spec
    config = folder / "config.json"
    markers = ", ".join(s.marker_file for s in specs() if s.marker_file)
    if not config.is_file() and (folder / "checkpoints").is_dir():
        size = sum(p.stat().st_size for p in (folder / "checkpoints").rglob("*") if p.is_file())
        raise ValueError(
            f"{folder} holds a training run that did not finish: no model was saved yet, only its checkpoints/ "
            f"({size / 2**20:.0f} MB). Resume it by running the same `depdetect train ...` command again with "
            "--resume_from_checkpoint latest, or delete its checkpoints/ folder to free the space."
        )
    if not config.is_file():
        raise ValueError(
            f"{folder} is not a trained depdetect model: it has neither config.json nor {markers}. Pass the folder "
            "training wrote (e.g. outputs/hybrid, outputs/dual_encoder/receiver, outputs/doris)."
        )
    try:
        model_type = read_json(config).get("model_type")
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{config} is not a readable JSON config ({err}).") from err
    for spec in specs():
        if spec.model_type and spec.model_type == model_type:
            return spec
    known = sorted(s.model_type for s in specs() if s.model_type)
    raise ValueError(f"{folder}/config.json has model_type {model_type!r}, not a depdetect model ({known}).")


def folder_kind(folder: str | Path) -> str:
    """The name of the system a saved model folder holds (see `folder_spec`)."""
    return folder_spec(folder).name


def resolve_model(model: str, revision: str | None = None) -> Path:
    """A local model folder as it is, or a Hub repo id downloaded (offline: from the cache) with huggingface_hub."""
    path = Path(model)
    if path.exists() or looks_like_path(model):
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, revision=revision))
    except Exception as err:  # offline mode, unknown repo, no access: all end the same way for the user
        raise ValueError(
            f"{model!r} is neither a local folder nor a Hub model repo that could be downloaded "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})."
        ) from err
