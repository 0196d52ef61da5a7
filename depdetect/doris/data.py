"""The `users` schema of DORIS (a user's timestamped posts and a label), its loaders, and the SIMULATED RMHD
cohort used as offline default data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from ..data import POST_LABELS, RMHD_CONTROL_SUBREDDITS, complete_splits, record_splits, rmhd_csv_path

# the one rule for texts (it lives in the Hybrid's pipeline file because remote code must carry it itself)
from ..hybrid.pipeline_hybrid import check_text

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
        raise ValueError(f"{name}: `posts` must be a list of {{'text', 'timestamp'}} dicts, got "
                         f"{type(posts).__name__}.")
    if not posts:
        raise ValueError(f"{name} has no posts; drop the user or give it at least one post.")
    clean = []
    for i, post in enumerate(posts):
        post = {"text": post} if isinstance(post, str) else post
        if not isinstance(post, dict):
            raise ValueError(f"{name}, post {i}: expected a dict with `text`, got {type(post).__name__}.")
        text = check_text(post.get("text"), f"{name}, post {i} `text`")
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


def load_users(data_args=None, seed: int = 42, cohort_users: int = 1000) -> DatasetDict:
    """A `users` DatasetDict from JSON Lines/Parquet files (one user a record), a dataset (`--dataset_name`), or
    (neither given) the simulated RMHD cohort. Missing validation/test splits are carved from the training users
    (stratified)."""
    if data_args is None or not data_args.user_supplied:
        return rmhd_user_cohort(num_users=cohort_users, seed=seed)
    return complete_splits(record_splits(users_from_records, data_args, "users"), seed)


def _cohort_pool(seed: int, split_sizes: tuple[float, float, float]) -> tuple[pd.DataFrame, np.random.Generator]:
    """The RMHD posts with their `kind` (clinical / control / other) and `part` (0 train, 1 validation, 2 test) as
    the cohort of `seed` deals them, and the random generator the cohort goes on drawing from."""
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "date", "post"])
    frame = frame[frame["post"].fillna("").str.strip() != ""].reset_index(drop=True)
    frame["timestamp"] = pd.to_datetime(frame["date"], format="%Y/%m/%d", errors="coerce").dt.strftime("%Y-%m-%d")
    frame["kind"] = "other"
    frame.loc[frame["subreddit"].isin(COHORT_CLINICAL_SUBREDDITS), "kind"] = "clinical"
    frame.loc[frame["subreddit"].isin(RMHD_CONTROL_SUBREDDITS), "kind"] = "control"
    rng = np.random.default_rng(seed)
    frame["part"] = rng.choice(3, size=len(frame), p=np.asarray(split_sizes) / sum(split_sizes))
    return frame, rng


def cohort_post_pool(seed: int = 42, split_sizes: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> pd.DataFrame:
    """The posts `rmhd_user_cohort(seed=seed)` draws its users from, with `kind` (clinical: r/depression and
    r/suicidewatch; control: the 10 non-clinical subreddits; other: the other mental-health subreddits) and `part`
    (0/1/2: the train/validation/test users' pool). A post-level model trained on part 0 has seen none of the
    validation or test users' posts (the benchmarks train the Hybrid this way)."""
    return _cohort_pool(seed, split_sizes)[0]


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
    frame, rng = _cohort_pool(seed, split_sizes)
    kind, part = frame["kind"], frame["part"].to_numpy()
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
