"""Streaming, sharded scoring of a whole input for `depdetect predict` and `depdetect evaluate`.

The input is read twice and never held in memory:

1. **check**: every record is read and checked by its system's `check_record`. A bad record stops the run with its
   file and line before the model loads and before anything is written (or, with `skip_bad`, is reported on stderr
   and left out), so no partial output ever exists.
2. **score**: the good records are read again, `batch_size` at a time. Started by `torchrun` or `accelerate launch`
   (WORLD_SIZE > 1), each process scores every n-th batch (batch i goes to process i mod n); a system whose
   predictor splits its own work across processes (`SystemSpec.splits_work_itself`, DORIS) is given every batch on
   every process instead. Each process writes its rows to a shard file in a temporary folder beside the output;
   the main process merges the shards back into input order in a temporary file, renamed onto the output at the
   end (`shard_outputs`: each process renames its own shard instead).

Memory is bounded by one batch of records and outputs (plus the model), whatever the input's length; JSON arrays
(`.json`) are the exception, read whole (use JSON Lines for large inputs). Standard input is copied to a temporary
file first, so that it can be read twice.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from time import perf_counter
from typing import Any

from tqdm.auto import tqdm

from .utils import json_safe

#: the fields of a record that identify it in the output (its text is not repeated there)
ID_FIELDS = ("id", "interview_id", "user_id")

#: a source of (where, raw record) pairs that can be read more than once (each call starts again)
RowSource = Callable[[], Iterable[tuple[str, Any]]]


@contextmanager
def spooled_stdin(path: str) -> Iterator[str]:
    """`path` as it is, or for `-` standard input copied to a temporary JSON Lines file (removed at the end), so
    that it can be read twice without holding it in memory."""
    if path != "-":
        yield path
        return
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("'-' (standard input) cannot be shared between the processes of torchrun/accelerate launch: "
                         "write the input to a file and pass its path.")
    handle, name = tempfile.mkstemp(prefix="depdetect-stdin-", suffix=".jsonl")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


def check_all(source: RowSource, system, labelled: bool, skip_bad: bool, what: str, **options) -> int:
    """The check pass: every record read and checked, nothing kept. Returns how many are good; a bad record stops
    the run (nothing written), naming where it is, or is reported on stderr and skipped with `skip_bad`."""
    good = total = bad = 0
    first = ""
    for where, row in source():
        total += 1
        try:
            system.check_record(row, where, labelled, **options)
            good += 1
        except ValueError as err:
            bad += 1
            first = first or str(err)  # the first message and a count are all the error shows
            if skip_bad:
                print(f"skipped: {err}", file=sys.stderr)
    if not total:
        raise ValueError(f"{what} holds no records.")
    if bad and not skip_bad:
        more = f" (and {bad - 1} more)" if bad > 1 else ""
        raise ValueError(f"{first.rstrip('.')}{more}. Nothing was written: fix the record(s), or pass --skip_bad "
                         "to leave them out.")
    if not good:
        raise ValueError(f"None of the {total} records of {what} could be used.")
    return good


def good_records(source: RowSource, system, labelled: bool, **options) -> Iterator[tuple[str, dict]]:
    """(where, checked record) of every record that passes the system's check (the others were reported by
    `check_all`)."""
    for where, row in source():
        try:
            yield where, system.check_record(row, where, labelled, **options)
        except ValueError:
            continue


def batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Processes:
    """The processes a launcher started (torchrun / accelerate launch sets WORLD_SIZE), through Accelerate's
    PartialState; one process and no process group otherwise. `device`: the user's --device (None: a GPU when
    there is one)."""

    def __init__(self, device: Any = None):
        self.state = None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch
            from accelerate import PartialState

            # on the CPU (asked for, or no GPU) Accelerate sets up gloo only when told `cpu`
            self.state = PartialState(cpu=str(device).startswith("cpu") or not torch.cuda.is_available())
        self.count = self.state.num_processes if self.state else 1
        self.index = self.state.process_index if self.state else 0
        self.main = self.index == 0

    @property
    def device(self):
        return self.state.device if self.state else None

    def wait(self) -> None:
        if self.state:
            self.state.wait_for_everyone()

    def shared(self, value: Any) -> Any:
        """The main process' `value`, on every process."""
        if not self.state:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value])[0]


def output_row(where: str, record: dict, out: dict) -> dict:
    ids = {k: record[k] for k in ID_FIELDS if record.get(k) is not None}
    return {"record": where, **ids, **out}


def score_shard(records: Iterable[tuple[str, dict]], score: Callable[[list[dict]], list[dict]], shard: Path,
                batch_size: int, stride: tuple[int, int], total: int, unit: str, show: bool) -> int:
    """Score this process's batches (`stride` (n, i): the batches whose index is i mod n) into `shard` (JSON
    Lines, one output row per record); progress with rate and ETA on stderr. Returns the number of rows written."""
    written = 0
    with open(shard, "w", encoding="utf-8") as out, tqdm(
        total=total, desc="predicting", unit=unit, leave=False, disable=not show or total <= batch_size
    ) as bar:
        for index, batch in enumerate(batches(records, batch_size)):
            if index % stride[0] != stride[1]:
                continue
            outputs = score([r for _, r in batch])
            for (where, record), result in zip(batch, outputs):
                out.write(json.dumps(json_safe(output_row(where, record, result)), ensure_ascii=False) + "\n")
            written += len(batch)
            bar.update(len(batch))
    return written


def merged_lines(shards: list[Path], total: int, batch_size: int) -> Iterator[str]:
    """The shards' lines in input order: batch i is the next batch of shard i mod n."""
    handles = [open(shard, encoding="utf-8") for shard in shards]
    try:
        for index in range((total + batch_size - 1) // batch_size):
            count = min(batch_size, total - index * batch_size)
            lines = list(islice(handles[index % len(handles)], count))
            if len(lines) != count:
                raise RuntimeError(f"shard {index % len(handles)} ended early: a process did not finish its share.")
            yield from lines
    finally:
        for handle in handles:
            handle.close()


def write_rows(lines: Callable[[], Iterable[str]], path: Path | None, fmt: str) -> None:
    """JSON Lines rows written as JSON Lines or CSV (scalar fields as columns, lists and dicts as JSON text) to
    `path` through a temporary file and a rename, or to stdout when `path` is None. `lines` is called once for
    JSON Lines, twice for CSV (its columns first)."""
    import csv

    with _atomic(path) as out:
        if fmt != "csv":
            for line in lines():
                out.write(line)
            return
        columns = list(dict.fromkeys(key for line in lines() for key in json.loads(line)))
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for line in lines():
            writer.writerow(csv_cells(json.loads(line)))


def csv_cells(row: dict) -> dict:
    """One output row as CSV cells: scalars as they are, lists and dicts (the explanations) as JSON text."""
    return {k: json.dumps(json_safe(v), ensure_ascii=False) if isinstance(v, (list, dict)) else v
            for k, v in row.items()}


def rename_into_place(source: Path, path: Path) -> Path:
    """`source` (a finished file beside `path`, on its file system) renamed to `path` with the mode of depdetect's
    other outputs; returns `path`."""
    from .utils import _FILE_MODE, as_os_error

    try:
        os.chmod(source, _FILE_MODE)
        os.replace(source, path)
    except OSError as err:
        raise as_os_error(err, path) or err from err
    return path


@contextmanager
def _atomic(path: Path | None):
    if path is None:
        yield sys.stdout
        return
    from .utils import atomic_text

    with atomic_text(path, newline="") as out:
        yield out


def shard_name(path: Path, index: int, count: int) -> Path:
    """`predictions.jsonl` -> `predictions-00001-of-00002.jsonl` (the Hub's shard naming)."""
    return path.with_name(f"{path.stem}-{index:05d}-of-{count:05d}{path.suffix}")


def score_all(source: RowSource, system, score: Callable[[list[dict]], list[dict]], *, total: int,
              batch_size: int, unit: str, output: Path | None, fmt: str, splits_work_itself: bool = False,
              shard_outputs: bool = False, keep: Callable[[Iterable[str]], Any] | None = None,
              labelled: bool = False, processes: Processes | None = None, write: bool = True, **options) -> dict:
    """The score pass over `total` good records of `source` (see the module's docstring), written to `output`
    (stdout when None) as `fmt` (`write=False`: nowhere). `keep(lines)`, when given, reads the merged rows on the
    main process before the temporary folder goes (the HTML report, evaluate's metrics); its result is "kept".

    Returns {"predictions", "processes", "seconds", "rate", "outputs"} on the main process (and its own shard's
    count elsewhere)."""
    processes = processes or Processes()
    started = perf_counter()
    count = 1 if splits_work_itself else processes.count
    if shard_outputs and output is None:
        raise ValueError("--shard_outputs needs -o: each process writes its own file beside it.")
    if shard_outputs and splits_work_itself:
        raise ValueError("--shard_outputs: this system splits its work across processes itself and writes one "
                         "output; leave --shard_outputs out.")
    where = str(output.parent) if output is not None else None
    folder = Path(processes.shared(tempfile.mkdtemp(prefix=".depdetect-scoring-", dir=where)
                                   if processes.main else None))
    result: dict[str, Any] = {"processes": processes.count}
    try:
        shard = folder / f"shard-{processes.index:05d}.jsonl"
        records = good_records(source, system, labelled, **options)
        offset = processes.index if count > 1 else 0
        batches_in_all = (total + batch_size - 1) // batch_size
        share = sum(min(batch_size, total - i * batch_size) for i in range(offset, batches_in_all, count))
        written = score_shard(records, score, shard, batch_size, (count, offset), share, unit, processes.main)
        if shard_outputs:
            target = shard_name(output, processes.index, count)
            write_rows(lambda: open(shard, encoding="utf-8"), target, fmt)
            processes.wait()
            result["outputs"] = [str(shard_name(output, i, count)) for i in range(count)]
        processes.wait()
        if processes.main:
            shards = [folder / f"shard-{i:05d}.jsonl" for i in range(count)]
            if write and not shard_outputs and count == 1 and fmt == "jsonl" and output is not None:
                shards = [rename_into_place(shards[0], output)]  # one shard is the output: renamed, not copied
                result["outputs"] = [str(output)]
            elif write and not shard_outputs:
                write_rows(lambda: merged_lines(shards, total, batch_size), output, fmt)
                result["outputs"] = [str(output) if output else "<stdout>"]
            if keep is not None:
                result["kept"] = keep(merged_lines(shards, total, batch_size))
        seconds = perf_counter() - started
        result.update(predictions=total if processes.main else written, seconds=round(seconds, 1),
                      rate=round(total / seconds, 1) if seconds else None)
        processes.wait()  # every process done reading before the folder goes
    finally:
        if processes.main:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def describe(result: dict, unit: str) -> str:
    """'Wrote 1,000 predictions to out.jsonl (312.5 texts/s, 2 processes).'"""
    where = ", ".join(result["outputs"])
    processes = f", {result['processes']} processes" if result["processes"] > 1 else ""
    return f"Wrote {result['predictions']:,} predictions to {where} ({result['rate']:,} {unit}s/s{processes})."
