"""The `posts` schema (one text, one label) of the Hybrid, its loaders, and the default RMHD task.

Loaders return a `DatasetDict` with `train`, `validation` and `test` splits; every text is checked before training
so that a bad row fails with its file, line and what to do, not deep inside torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from ..data import (
    POST_LABELS,
    RMHD_CONTROL_SUBREDDITS,
    RMHD_POSITIVE_SUBREDDITS,
    RMHD_TASKS,
    complete_splits,
    load_dataset_dict,
    normalize_labels,
    read_records,
    rmhd_csv_path,
    stratified_splits,
    warn_shared_files,
    with_group,
)
from .pipeline_hybrid import check_text

RMHD_DESCRIPTION = (
    "The RMHD sample (Reddit Mental Health Dataset, Low et al. 2020) shipped by the PyPI package construct-tracker "
    "1.0.16: posts from r/depression (label `depression`) against posts from 10 non-clinical subreddits "
    f"({', '.join(RMHD_CONTROL_SUBREDDITS)}; label `control`), about 1:10."
)


def posts_features(label_names: Sequence[str] = POST_LABELS) -> Features:
    return Features({"text": Value("string"), "label": ClassLabel(names=list(label_names))})


def posts_from_records(
    records: list[dict],
    where: str | list[str],
    text_column: str = "text",
    label_column: str = "label",
    label_names: Sequence[str] = POST_LABELS,
) -> Dataset:
    """A validated `posts` Dataset from dicts with a text and a label field.

    `where` names the source (a file) or, as a list, each record's place (file and line) for error messages.
    """
    places = where if isinstance(where, list) else [f"{where}: row {i}" for i in range(len(records))]
    source = places[0].split(":")[0] if places else str(where)
    if not records:
        raise ValueError(f"{source} holds no rows; the posts schema needs `{text_column}` and `{label_column}`.")
    for place, record in zip(places, records):
        if not isinstance(record, dict):
            raise ValueError(f"{place}: expected a record with `{text_column}` and `{label_column}`, got "
                             f"{type(record).__name__}.")
    for column in (text_column, label_column):
        if column not in records[0]:
            raise ValueError(
                f"{source} has no `{column}` column (columns: {list(records[0])}). "
                "Rename it or pass --text_column/--label_column."
            )
    texts = []
    for place, record in zip(places, records):
        text = record.get(text_column)
        texts.append(
            check_text(None if isinstance(text, float) and text != text else text, f"{place} `{text_column}`")
        )
    labels = normalize_labels([r.get(label_column) for r in records], label_names, rows=places)
    return Dataset.from_dict({"text": texts, "label": labels}, features=posts_features(label_names))


def load_rmhd(seed: int = 42, validation_size: float = 0.15, test_size: float = 0.15,
              task: str = "nonclinical") -> DatasetDict:
    """An RMHD task, split stratified train/validation/test.

    `nonclinical` (the default task): r/depression posts vs the 10 non-clinical subreddits, 2,860 real Reddit posts
    (260 depression, 2,600 control). `mental_health` (harder): r/depression vs the 16 other mental-health
    subreddits of the sample (r/suicidewatch, r/anxiety, r/lonely, ...), 4,420 posts (260 depression).
    """
    if task not in RMHD_TASKS:
        raise ValueError(f"Unknown RMHD task {task!r}; choose one of {sorted(RMHD_TASKS)}.")
    negatives = RMHD_TASKS[task]
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"])
    frame = frame[frame["subreddit"].isin(RMHD_POSITIVE_SUBREDDITS + negatives)]
    frame = frame[frame["post"].fillna("").str.strip() != ""]
    records = [{"text": text.strip(), "label": int(sub in RMHD_POSITIVE_SUBREDDITS)}
               for text, sub in zip(frame["post"], frame["subreddit"])]
    return stratified_splits(posts_from_records(records, "RMHD sample"), validation_size, test_size, seed)


def load_posts(data_args=None, seed: int = 42) -> DatasetDict:
    """A `posts` DatasetDict from files, a dataset (`--dataset_name`), or (neither given) the RMHD default.

    `data_args` is a PostsDataArguments (None: the default). Missing validation/test splits are carved out of the
    training data (stratified, 15% each).
    """
    if data_args is None or not data_args.user_supplied:
        return load_rmhd(seed=seed)
    text, label = data_args.text_column, data_args.label_column
    if data_args.dataset_name:
        loaded = load_dataset_dict(data_args.dataset_name, data_args.dataset_config)
        splits = {}
        for name, split in loaded.items():
            feature = split.features.get(label)
            names = feature.names if isinstance(feature, ClassLabel) else POST_LABELS
            records, where = split.to_list(), f"{data_args.dataset_name}[{name}]"
            splits[name] = with_group(posts_from_records(records, where, text, label, names), records,
                                      data_args.group_column, where)
    else:
        splits = {}
        warn_shared_files({name: getattr(data_args, f"{name}_file") for name in ("train", "validation", "test")})
        for name in ("train", "validation", "test"):
            path = getattr(data_args, f"{name}_file")
            if path:
                rows = read_records(path, data_args.encoding)
                records = [r for _, r in rows]
                splits[name] = with_group(posts_from_records(records, [w for w, _ in rows] or str(path), text, label),
                                          records,
                                          data_args.group_column, str(path))
    if "train" not in splits:
        raise ValueError(f"No `train` split found in {data_args.dataset_name} (splits: {list(splits)}).")
    return complete_splits(DatasetDict(splits), seed)
