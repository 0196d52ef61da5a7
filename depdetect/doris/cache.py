"""On-disk caches for DORIS: embeddings, annotations and summaries survive a killed run.

Keys are (backend + model + prompt version + text hash), so changing any of them never reads a stale answer.
Every record is appended and flushed as soon as it exists; a run killed mid-way leaves at most one torn record,
which the next run ignores, and it redoes only the work that is missing. Several processes (Accelerate) write
to their own files (`*.rank{N}.*`) and every process reads all of them. Nothing here is pickled: answers are JSON
lines, embeddings raw float32 rows beside a JSON-lines index.

`PipelineCaches` is what a DorisPipeline uses: these caches (or bounded in-memory ones) and the splitting of work
across Accelerate processes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..utils import write_text
from .features import normalize_rows


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


#: texts embedded per step (bounds memory and cache appends; one progress-bar update each)
EMBED_CHUNK = 256


class LRUStore(OrderedDict):
    """A dict that keeps at most `size` entries, dropping the least recently used (the in-memory cache of a
    pipeline without `cache_dir`: a long-running process does not keep every text it ever saw)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class PipelineCaches:
    """The caches and the work splitting of a DorisPipeline: embeddings and LLM answers kept on disk (with
    `cache_dir`) or in memory (at most `memory_size` entries of each kind), and work split across the processes of
    an Accelerate `state` with every result gathered on every process.

    Args:
        cache_dir: folder for the on-disk caches of embeddings, annotations, summaries and explanations.
        memory_size: entries of each kind kept in memory without `cache_dir` (least recently used dropped first).
        state: an Accelerate `PartialState` (default: the process-wide one, looked up each time).
    """

    def __init__(self, cache_dir: str | Path | None = None, memory_size: int = 100_000, state=None):
        if memory_size < 1:
            raise ValueError(f"`memory_size` must be >= 1, got {memory_size}.")
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.memory_size = memory_size
        self._state = state
        self.memory: LRUStore = LRUStore(memory_size)
        self._embedding_cache: EmbeddingCache | None = None
        self._answer_caches: dict[str, AnswerCache | LRUStore] = {}

    @property
    def state(self):
        """The given Accelerate state, else the process-wide PartialState (looked up each time, never kept)."""
        if self._state is not None:
            return self._state
        from accelerate import PartialState

        return PartialState()

    def split(self, items: list, work) -> list:
        """Run `work(items_part) -> list` on each process's share of `items`; every process gets all results."""
        state = self.state
        if state.num_processes == 1:
            return work(items)
        from accelerate.utils import gather_object

        with state.split_between_processes(items) as part:
            done = work(list(part))
        return gather_object([done])  # one list per process, in process order

    def gathered(self, items: list, work) -> list:
        parts = self.split(items, work)
        if self.state.num_processes == 1:
            return parts
        return [x for part in parts for x in part]

    def answers(self, kind: str, embedder) -> AnswerCache | LRUStore:
        """The answer store of one kind: a disk cache with `cache_dir`, else an LRU dict for this object's
        lifetime."""
        self.open(embedder)
        return self._answer_caches.setdefault(kind, LRUStore(self.memory_size))

    def embed(self, embedder, texts: list[str]) -> tuple[np.ndarray, int]:
        """L2-normalised embeddings of `texts` by `embedder`, each distinct text embedded once (and cached); and
        how many texts were embedded now (not found in a cache)."""
        self.open(embedder)
        store = self._embedding_cache
        keys = [cache_key(embedder.identifier, t) for t in texts]
        found: dict[str, np.ndarray] = {}  # this call's rows (the LRU store may drop some before they are read)
        for key in keys:
            if key not in found:
                row = store.get(key) if store is not None and key in store else self.memory.get(key)
                if row is not None:
                    found[key] = row
        missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts) if k not in found))

        def work(part):
            rows = np.asarray(embedder.encode([t for _, t in part]), dtype=np.float32)
            if rows.shape != (len(part), embedder.dimension):
                raise ValueError(f"The embedder returned shape {rows.shape} for {len(part)} texts.")
            bad = ~np.isfinite(rows).all(axis=1)
            if bad.any():  # checked before caching, so a broken run leaves nothing bad on disk
                raise ValueError(
                    f"The embedder returned NaN or infinite values for {int(bad.sum())} of {len(part)} texts; "
                    "check the embedding model (and its dtype) before fitting."
                )
            rows = normalize_rows(rows)
            if store is not None and part:
                store.put_many([k for k, _ in part], rows)
            return list(zip([k for k, _ in part], rows))

        for start in self.progress(range(0, len(missing), EMBED_CHUNK), len(missing), "embedding", EMBED_CHUNK):
            done = self.gathered(missing[start : start + EMBED_CHUNK], work)
            found.update(done)
            if store is not None:
                store.remember(done)  # rows other processes computed: known here too, written by them
            else:
                for key, row in done:
                    self.memory[key] = row
        out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out, len(missing)

    def open(self, embedder) -> None:
        """Open the disk caches once, on every process, before any process writes to them (else the processes
        could see different cached sets and split different work lists)."""
        if self.cache_dir is None or self._embedding_cache is not None:
            return
        self._embedding_cache = EmbeddingCache(self.cache_dir, embedder.identifier, embedder.dimension)
        for kind in ("annotations", "summaries", "explanations"):
            self._answer_caches[kind] = AnswerCache(self.cache_dir, kind)
        self.state.wait_for_everyone()

    def progress(self, steps, total: int, what: str, per_step: int):
        """Progress over `total` items in steps of `per_step`, shown on the main process (stderr) when long."""
        bar = tqdm(total=total, desc=what, unit="post", leave=False,
                   disable=not self.state.is_main_process or total <= per_step)  # more than one step: shown
        for step in steps:
            yield step
            bar.update(min(per_step, total - bar.n))
        bar.close()

    def answered(self, kind: str, keys: list[str], items: list, answer, batch_size: int, embedder) -> list:
        """Answers for `items` from the `kind` cache; the missing ones (each distinct key once) are computed by
        `answer(batch) -> list` across the processes, `batch_size` at a time, each batch cached as it arrives.
        Only answers that parsed are cached: None (unreadable) is returned for this call and asked again next
        time, so a transient fault (a proxy's error pages) never poisons the cache."""
        cache = self.answers(kind, embedder)
        results = {}
        for key in keys:
            if key in cache:
                results[key] = cache.get(key)
        todo = list({k: item for k, item in zip(keys, items) if k not in results}.items())

        def work(part):
            done = []
            for start in self.progress(range(0, len(part), batch_size), len(part), kind, batch_size):
                batch = part[start : start + batch_size]
                for (key, _), value in zip(batch, answer([item for _, item in batch])):
                    if value is not None:
                        store(cache, key, value)
                    done.append((key, value))
            return done

        for key, value in self.gathered(todo, work):
            results[key] = value
            if value is not None:
                remember(cache, key, value)
        return [results[k] for k in keys]


def store(cache: AnswerCache | dict, key: str, value) -> None:
    """Keep an answer this process produced (appended to its disk file when there is one)."""
    if isinstance(cache, AnswerCache):
        cache.put(key, value)
    else:
        cache[key] = value


def remember(cache: AnswerCache | dict, key: str, value) -> None:
    """Know an answer gathered from any process (its own process already wrote it to disk)."""
    if isinstance(cache, AnswerCache):
        cache.remember(key, value)
    else:
        cache[key] = value
