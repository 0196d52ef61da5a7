"""A saved model folder is checked before it is used: the files its system needs are present, are regular files
inside the folder, and parse (JSON configs, the safetensors header against the file's size), so a damaged or
planted folder ends in one line naming the file and what to do, never in silent garbage or a library's stack.

Rules, not cases: every file a system names (its `required_files` and `artifacts`) is checked by what it is
(a link must stay inside the folder, or inside the Hub cache entry the folder is a snapshot of; `*.json` must parse;
`*.safetensors` must have a header that fits the file).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

REPAIR = "copy the folder again from where it came (or train it again)"


def allowed_root(folder: Path) -> Path:
    """Where the files of `folder` may live: the folder itself, or the Hub cache entry of a snapshot (whose files are
    links into ../../blobs)."""
    folder = folder.resolve()
    return folder.parent.parent if folder.parent.name == "snapshots" else folder


def folder_file(folder: str | Path, name: str, what: str = "model folder") -> Path:
    """`folder/name` when it is a regular file inside the folder (links followed only within it); a
    FileNotFoundError or ValueError naming the file otherwise."""
    folder = Path(folder)
    path = folder / name
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(f"{path} is missing: this {what} is incomplete; {REPAIR}.")
    target = path.resolve()
    root = allowed_root(folder)
    if target != root and root not in target.parents:
        raise ValueError(f"{path} is a link to {target}, outside the {what}; a model folder must hold its own files. "
                         "Replace the link with the file itself.")
    if not target.is_file():
        raise ValueError(f"{path} is not a regular file; {REPAIR}.")
    return path


def check_json_file(path: Path) -> Any:
    """The parsed JSON of a config file; a ValueError naming it otherwise."""
    from .utils import read_json

    try:
        return read_json(path)
    except ValueError as err:
        raise ValueError(f"{str(err).rstrip('.')}; {REPAIR}.") from None


def check_safetensors_header(path: Any) -> None:
    """Refuse a damaged safetensors file (cut short, an absurd header length, a header that is not JSON, tensors
    past the end of the file) with a message naming it, before a library reads it."""
    import os

    size = os.path.getsize(path)
    problem = None
    with open(path, "rb") as handle:
        head = handle.read(8)
        length = struct.unpack("<Q", head)[0] if len(head) == 8 else None
        if length is None:
            problem = f"{size} bytes, shorter than a safetensors header"
        elif length > min(size - 8, 100_000_000):
            problem = f"its header claims {length} bytes but the file holds {size}"
        else:
            try:
                header = json.loads(handle.read(length).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                header = None
            if not isinstance(header, dict):
                problem = "its header is not a JSON object"
            else:
                try:
                    end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
                              default=0)
                except (TypeError, KeyError, IndexError, ValueError):
                    end = None
                if end is None:
                    problem = "its header does not describe tensors"
                elif end != size - 8 - length:
                    problem = f"its tensors need {end} bytes of data, the file holds {size - 8 - length}"
    if problem:
        raise ValueError(f"{path} is damaged ({problem}): the weights were cut short or overwritten; copy the "
                         "folder again from where it came (or train it again).")


def check_local_weights(name_or_path: Any) -> None:
    """Before `from_pretrained` reads a local folder: refuse a path that does not exist (rather than have it taken
    for a Hub id) and any damaged `*.safetensors` file in it, naming the file."""
    import os

    if not isinstance(name_or_path, (str, os.PathLike)):
        return
    text = os.fspath(name_or_path)
    if os.path.isdir(text):
        for name in sorted(os.listdir(text)):
            if name.endswith(".safetensors"):
                check_safetensors_header(os.path.join(text, name))
    elif text.startswith(("/", "./", "../", "~")) or os.sep + os.sep in text or text.count("/") > 1:
        raise FileNotFoundError(f"No such model folder: {text}. Pass a folder a depdetect model was saved to, or a "
                                "Hub repo id (owner/name).")


def check_model_folder(folder: str | Path, names: tuple[str, ...]) -> None:
    """Every file of `names` in `folder` present, a regular file inside it, and parseable by its kind."""
    for name in dict.fromkeys(names):
        path = folder_file(folder, name)
        if name.endswith(".json"):
            check_json_file(path)
        elif name.endswith(".safetensors"):
            check_safetensors_header(path)
