"""The `users` schema of DORIS (a user's timestamped posts and a label), its loaders, and the SIMULATED RMHD
cohort used as offline default data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from datasets import DatasetDict

from ..data import (  # noqa: F401 (the shared users schema)
    POST_FEATURES,
    POST_LABELS,
    RMHD_CONTROL_SUBREDDITS,
    USERS_FEATURES,
    complete_splits,
    record_splits,
    rmhd_csv_path,
    users_from_records,
)
from ..schemas import check_user, parse_timestamp  # noqa: F401 (the users schema's checks, re-exported)
from . import MIN_COHORT_USERS as MIN_USERS

#: The simulated RMHD cohort (see `rmhd_user_cohort`): which subreddits feed which users.
COHORT_CLINICAL_SUBREDDITS = ("depression", "suicidewatch")






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
    if isinstance(num_users, bool) or not isinstance(num_users, int) or num_users < MIN_USERS:
        raise ValueError(f"`num_users` must be a whole number >= {MIN_USERS} (every split needs depressed and control "
                         f"users), got {num_users!r}.")
    frame, rng = _cohort_pool(seed, split_sizes)
    kind, part = frame["kind"], frame["part"].to_numpy()
    num_depressed = max(3, round(num_users * prevalence))
    labels = np.zeros(num_users, dtype=int)
    labels[rng.choice(num_users, size=num_depressed, replace=False)] = 1
    user_part = np.empty(num_users, dtype=int)
    for label in (0, 1):  # stratified 7:1:2 split of the users
        members = rng.permutation(np.flatnonzero(labels == label))
        sizes = np.diff([0, *np.round(np.cumsum(split_sizes) / sum(split_sizes) * len(members)).astype(int)])
        while sizes.min() < 1 <= len(members) // 3:  # a split with no user of a class: one from the largest split
            sizes[sizes.argmax()] -= 1
            sizes[sizes.argmin()] += 1
        for index, chunk in enumerate(np.split(members, np.cumsum(sizes)[:2])):
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
