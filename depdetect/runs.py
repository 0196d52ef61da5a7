"""One run owns one output folder: run ids, checked resumes, folders saved all at once, metrics tied to weights.

* A run's id is a hash of the arguments that shape its data and model (`run_fingerprint`): the same command on
  the same data is the same run; anything else is another run. `claim_output_dir` writes it to
  OUTPUT_DIR/depdetect_run.json before training and refuses a folder that holds another run's output (or files
  depdetect did not write) unless `--overwrite_output_dir`, which clears a depdetect folder first.
* Checkpoints carry the run id (`depdetect.training`); resuming another run's checkpoint is refused, naming both.
* `saving_folder` writes a model folder into a temporary folder beside it and moves the files into place only
  once weights, metrics and card are all written: a run killed mid-save leaves the previous folder as it was.
* metrics.json records the SHA-256 of the files it describes (each system's `artifacts` in the registry);
  `check_metrics_match` (run by `depdetect push`) refuses a folder whose metrics belong to other weights.

Standard library only.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from . import systems
from .utils import file_modes, read_json, write_json, writing

logger = logging.getLogger(__name__)

RUN_FILE = "depdetect_run.json"
#: what a depdetect output folder holds (anything else means the folder is not ours to clear): exact names (and
#: each system's own files, from the registry: `own_names()`), and name patterns of the weights, remote code and
#: tokenizer files transformers writes
OWN_NAMES = {
    RUN_FILE, "checkpoints", "metrics.json", "cv_metrics.json", "evaluation.json", "README.md", "config.json",
    "generation_config.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
    "chat_template.jinja", "plots",
}
OWN_PATTERNS = ("*.safetensors", "model.safetensors.index.json", "configuration_*.py", "modeling_*.py",
                "pipeline_*.py", "handler.py", "*.model", "step_*", "fold_*")


#: settings that do not change what a run computes (where it writes, how often it checkpoints, what it prints)
NOT_SHAPING = {"output_dir", "resume_from_checkpoint", "overwrite_output_dir", "checkpointing_steps",
               "keep_checkpoints", "keep_checkpoints_after_training", "show_examples", "cpu", "cache_dir",
               "embed_batch_size", "eval_batch_size", "api_key_env", "llm_timeout", "llm_concurrency"}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _shaping(value: Any) -> Any:
    """The part of an argument bundle that shapes a run, as plain JSON (data files replaced by their hashes)."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        out = {}
        for key, item in sorted(value.items()):
            if key in NOT_SHAPING:
                continue
            if key.endswith("_file") and isinstance(item, str) and Path(item).is_file():
                item = {"name": Path(item).name, "sha256": sha256_file(item)}
            out[key] = _shaping(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_shaping(v) for v in value]
    return value


def run_fingerprint(args: Any, dataset: Any = None) -> str:
    """The run id: a hash of the arguments that shape data and model (data files by content; a DatasetDict given
    in code by its fingerprints)."""
    payload: dict[str, Any] = {"args": _shaping(args)}
    if dataset is not None:
        payload["dataset"] = {name: getattr(split, "_fingerprint", None) or repr(len(split))
                              for name, split in sorted(dataset.items())}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_run(folder: str | Path) -> dict | None:
    path = Path(folder) / RUN_FILE
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def own_names() -> set[str]:
    """OWN_NAMES and every registered system's own files (its marker, artifacts, required and output files)."""
    names = set(OWN_NAMES)
    for spec in systems.specs():
        names.update((*spec.artifacts, *spec.required_files, *spec.output_names, spec.marker_file or "config.json"))
    return names


def _foreign(folder: Path) -> list[str]:
    """Entries of `folder` that a depdetect run would not have written (a DORIS folder's copied embedder is a
    folder holding sentence-transformers' modules.json)."""
    names = own_names()

    def own(p: Path) -> bool:
        return (p.name in names or any(fnmatch.fnmatch(p.name, pattern) for pattern in OWN_PATTERNS)
                or (p.is_dir() and (p / "modules.json").is_file()))

    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and not own(p))


def claim_output_dir(folder: str | Path, run_id: str, *, overwrite: bool = False, resume: bool = False,
                     main_process: bool = True) -> Path:
    """Make `folder` this run's: refuse another run's output unless `overwrite` (which clears it first).

    An empty or missing folder, or one holding this run's own output (same run id), is this run's. Resuming needs
    the folder's run id to match. `overwrite` clears only a folder depdetect wrote (it never deletes files it
    does not recognise).
    """
    folder = Path(folder)
    if not main_process:
        return folder
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output_dir {folder} is a file; choose a folder.")
    entries = [p for p in folder.iterdir()] if folder.is_dir() else []
    previous = read_run(folder)
    if entries and (previous is None or previous.get("run_id") != run_id):
        what = (f"run {previous.get('run_id')} (started {previous.get('started', '?')})" if previous
                else "output that is not from this run")
        foreign = _foreign(folder)
        if resume:
            raise ValueError(
                f"Cannot resume in {folder}: it holds {what}, and this run's arguments give run id {run_id}. Resume "
                "with the original command's arguments, or start afresh with --overwrite_output_dir."
            )
        if not overwrite:
            raise ValueError(
                f"--output_dir {folder} already holds {what}; this run is {run_id}. Pass --overwrite_output_dir to "
                "replace it, or choose another --output_dir."
            )
        if foreign:
            raise ValueError(
                f"--output_dir {folder} holds files depdetect did not write ({', '.join(foreign[:5])}); "
                "--overwrite_output_dir clears only depdetect output folders. Choose another --output_dir."
            )
        logger.warning("--overwrite_output_dir: clearing %s (it held %s).", folder, what)
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    started = (previous or {}).get("started") if previous and previous.get("run_id") == run_id else None
    write_json(folder / RUN_FILE, {"run_id": run_id, "started": started or time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return folder


@contextlib.contextmanager
def saving_folder(folder: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `folder`; when the block ends without error, move its files into `folder`
    (metrics.json and README.md last); on error, delete it and leave `folder` untouched."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.saving-"))
    try:
        with writing(folder):  # a full disk while a library writes: said as the OSError it is, naming the folder
            yield tmp
        file_modes(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        last = ("metrics.json", "README.md")
        names = sorted(p.name for p in tmp.iterdir())
        for name in [n for n in names if n not in last] + [n for n in last if n in names]:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(tmp / name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def artifact_hashes(folder: str | Path, kind: str) -> dict[str, str]:
    """SHA-256 of the files the metrics of a `kind` folder were measured on (its spec's `artifacts`)."""
    folder = Path(folder)
    return {name: sha256_file(folder / name) for name in systems.get(kind).artifacts if (folder / name).is_file()}


def check_metrics_match(folder: str | Path, kind: str) -> None:
    """Refuse a folder whose metrics.json was measured on other files (a mixed or half-replaced folder)."""
    folder = Path(folder)
    path = folder / "metrics.json"
    if not path.is_file():
        return
    try:
        recorded = read_json(path).get("artifacts")
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{path} is not readable JSON ({err}); re-run training or remove it.") from err
    if recorded is None:
        logger.warning("%s records no artifact hashes (saved by depdetect < 0.3); cannot check that it describes "
                       "these weights.", path)
        return
    actual = artifact_hashes(folder, kind)
    differ = sorted(name for name in set(recorded) | set(actual) if recorded.get(name) != actual.get(name))
    if differ:
        raise ValueError(
            f"{path} does not describe the files beside it: {', '.join(differ)} changed since the metrics were "
            "measured (a run killed while saving, or files copied over another run). Re-run training into an empty "
            "--output_dir (or --overwrite_output_dir) before publishing."
        )


# -- what every recipe returns and says at the end ---------------------------------------------------------------


@dataclass
class TrainResult:
    """What a recipe trained and measured: metrics (as in metrics.json), the saved folder(s), the model(s)."""

    metrics: dict
    output_dir: Path | None = None
    models: dict = field(default_factory=dict)


def say_saved(folders: list[Path], main_process: bool = True) -> None:
    """The last lines of a run: where the model is, and the command to run next."""
    if not main_process:
        return
    for folder in folders:
        print(f"Saved the Hub-ready model folder to {folder}.")
    if folders:
        print(f"Next: depdetect predict {folders[-1]} INPUT -o predictions.jsonl   |   "
              f"depdetect push {folders[-1]} your-name/REPO_NAME")
