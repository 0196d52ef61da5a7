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


def safetensors_problem(path: Any) -> str | None:
    """Why a file is not a whole safetensors file (cut short, an absurd header length, a header that is not a JSON
    table, tensors outside the data or not covering it, as safetensors requires); None when it is one."""
    import os

    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than a safetensors header"
        length = struct.unpack("<Q", head)[0]
        if length > min(size - 8, 100_000_000):
            return f"its header claims {length} bytes but the file holds {size}"
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return "its header is not JSON"
    if not isinstance(header, dict):
        return "its header is not a table"
    data_size, end = size - 8 - length, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            return f"tensor {name!r} lies outside the file"
        end = max(end, offsets[1])
    if end != data_size:
        return f"its tensors need {end} bytes of data, the file holds {data_size}"
    return None


def check_safetensors_header(path: Any) -> None:
    """Refuse a damaged safetensors file with a message naming it, before a library reads it."""
    problem = safetensors_problem(path)
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
        index = Path(folder) / f"{name}.index.json"
        if name.endswith(".safetensors") and not (Path(folder) / name).exists() and index.exists():
            shards = check_json_file(folder_file(folder, index.name)).get("weight_map", {}).values()
            check_model_folder(folder, tuple(sorted(set(shards))))  # sharded weights: each shard instead
            continue
        path = folder_file(folder, name)
        if name.endswith(".json"):
            check_json_file(path)
        elif name.endswith(".safetensors"):
            check_safetensors_header(path)
