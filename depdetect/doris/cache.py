"""On-disk caches for DORIS: embeddings, annotations and summaries survive a killed run.

Keys are (backend + model + prompt version + text hash), so changing any of them never reads a stale answer.
Every record is appended and flushed as soon as it exists; a run killed mid-way leaves at most one torn record,
which the next run ignores, and it redoes only the work that is missing. Several processes (Accelerate) write
to their own files (`*.rank{N}.*`) and every process reads all of them. Nothing here is pickled: answers are JSON
lines, embeddings raw float32 rows beside a JSON-lines index.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..utils import write_text


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(*parts: str) -> str:
    """One key from the parts (the last one usually a text), hashed so no raw text lands in file names or keys."""
    return text_hash("\x1f".join(parts))


def _rank() -> int:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


class AnswerCache:
    """JSON-lines key -> value store (annotations, summaries)."""

    def __init__(self, folder: str | Path, kind: str):
        self.folder = Path(folder)
        self.kind = kind
        self.folder.mkdir(parents=True, exist_ok=True)
        self._values: dict[str, object] = {}
        self._path = self.folder / f"{kind}.rank{_rank()}.jsonl"
        if self._path.exists():  # drop this rank's torn last record, so the next append starts on a fresh line
            data = self._path.read_bytes()
            self._path.write_bytes(data[: data.rfind(b"\n") + 1])
        for path in sorted(self.folder.glob(f"{kind}.rank*.jsonl")):
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn record another process has not repaired yet
                    self._values[record["key"]] = record["value"]

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default=None):
        return self._values.get(key, default)

    def remember(self, key: str, value) -> None:
        """Know a value another process computed and wrote to its own file."""
        self._values[key] = value

    def put(self, key: str, value) -> None:
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key, "value": value}) + "\n")
            handle.flush()
        self._values[key] = value


class EmbeddingCache:
    """Append-only float32 rows (`embeddings.rank{N}.f32`) with their keys (`embeddings.rank{N}.keys`)."""

    def __init__(self, folder: str | Path, namespace: str, dim: int):
        self.folder = Path(folder) / f"embeddings-{cache_key(namespace)[:16]}"
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text(self.folder / "namespace.txt", namespace + "\n")
        self.dim = dim
        self._rows: dict[str, np.ndarray] = {}
        for keys_path in sorted(self.folder.glob("embeddings.rank*.keys")):
            data_path = keys_path.with_suffix(".f32")
            lines = keys_path.read_text(encoding="utf-8").split("\n")[:-1]  # a torn last key has no newline
            rows = np.fromfile(data_path, dtype=np.float32) if data_path.exists() else np.zeros(0, np.float32)
            count = min(len(lines), rows.size // dim)
            rows = rows[: count * dim].reshape(count, dim)
            self._rows.update(zip(lines[:count], rows))
        rank = _rank()
        self._keys_path = self.folder / f"embeddings.rank{rank}.keys"
        self._data_path = self.folder / f"embeddings.rank{rank}.f32"
        self._repair()

    def _repair(self) -> None:
        """Trim this rank's files to the records both of them hold completely, so appends stay aligned."""
        if not self._keys_path.exists():
            return
        lines = self._keys_path.read_text(encoding="utf-8").split("\n")[:-1]
        size = self._data_path.stat().st_size // (4 * self.dim) if self._data_path.exists() else 0
        count = min(len(lines), size)
        self._keys_path.write_text("".join(line + "\n" for line in lines[:count]), encoding="utf-8")
        with open(self._data_path, "ab") as handle:
            handle.truncate(count * 4 * self.dim)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> np.ndarray:
        return self._rows[key]

    def remember(self, pairs: list[tuple[str, np.ndarray]]) -> None:
        """Know rows another process computed and wrote to its own file."""
        self._rows.update(pairs)

    def put_many(self, keys: list[str], rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        with open(self._data_path, "ab") as data:
            data.write(rows.tobytes())
            data.flush()
        with open(self._keys_path, "a", encoding="utf-8") as handle:
            handle.write("".join(key + "\n" for key in keys))
            handle.flush()
        self._rows.update(zip(keys, rows))
