"""SIMULATED interviews with known deciding turns, built from real RMHD posts (construct-tracker's sample).

No public interview corpus carries labels of which turns decide the score, so Recall@k (does the attention find
the turns that matter?) cannot be measured on real interviews here. These interviews can: their responses are real
Reddit posts (the first sentences, at most `max_words` words), their prompts a fixed list of neutral interviewer
questions drawn independently of the response (so a prompt says nothing about the score), and the turns that
decide the score are known by construction.

The rule (PHQ-8-like, 0-24): an interview has 8-20 turns; k of its responses come from the clinical subreddits
(r/depression, r/suicidewatch), the others from the 10 non-clinical ones (r/personalfinance, r/teaching, ...).
k is drawn with P(0) = 0.30, P(1) = P(2) = P(3) = 0.40 / 3 and P(4) = ... = P(8) = 0.30 / 5 (so about 30% reach
the PHQ-8 cut-off of 10, close to DAIC-WOZ's share), placed at random positions. score = 3k (each clinical
response counts as one PHQ-8 item answered "nearly every day", 3 points; 8 x 3 = 24); label = score >= 10 (k >= 4).
The k clinical turns carry importance 1, the others 0.

The post pool is split before any interview is drawn, so no post appears in two splits (within a split, interviews
may share posts, never within one interview). Everything is seeded: the same seed gives the same interviews.
Results on these interviews say how a model behaves when the deciding turns are known, not how it does on
clinical interviews.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from datasets import DatasetDict

from ..data import RMHD_CONTROL_SUBREDDITS, rmhd_csv_path
from .data import interviews_from_records

#: Subreddits whose posts are the deciding (important) responses.
CLINICAL_SUBREDDITS = ("depression", "suicidewatch")
#: Neutral interviewer questions (written for depdetect; no clinical content), one drawn at random per turn.
NEUTRAL_PROMPTS = (
    "How have things been going lately?",
    "Can you tell me a bit about your week?",
    "What did you do last weekend?",
    "What is something you have been thinking about recently?",
    "How do you usually spend your evenings?",
    "Tell me about something that happened to you recently.",
    "What has been on your mind today?",
    "How would you describe the last few days?",
    "What are you working on these days?",
    "Is there anything you would like to talk about?",
    "What did you do yesterday?",
    "How are things with the people around you?",
    "What is a typical day like for you right now?",
    "Tell me more about that.",
    "What happened after that?",
    "How do you feel about it?",
    "Can you give me an example?",
    "What are your plans for the coming weeks?",
    "What do you do when you have some free time?",
    "Is there something you have been wanting to change?",
)
#: P(k clinical turns) for k = 0..8 (see the module docstring).
CLINICAL_TURNS_P = (0.30, *(0.40 / 3,) * 3, *(0.30 / 5,) * 5)
POINTS_PER_CLINICAL_TURN = 3
SCORE_THRESHOLD = 10
#: Interview ids of simulated interviews start with this (cards name such training data SIMULATED).
SIMULATED_PREFIX = "rmhd-sim-"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def first_sentences(text: str, max_words: int = 40, min_words: int = 12) -> str:
    """The post's first sentences: whole sentences until `min_words` words are reached, never more than
    `max_words` words (a longer first sentence is cut)."""
    words_taken: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(str(text).split())):
        words = sentence.split()
        if words_taken and len(words_taken) + len(words) > max_words:
            break
        words_taken.extend(words)
        if len(words_taken) >= min_words:
            break
    return " ".join(words_taken[:max_words])


def score_for(clinical_turns: int) -> float:
    """The simulated PHQ-8-like score of an interview with this many clinical responses (3 points each, max 24)."""
    return float(min(24, POINTS_PER_CLINICAL_TURN * clinical_turns))


def rmhd_response_pool(max_words: int = 40) -> dict[str, np.ndarray]:
    """The responses an interview can draw: {"clinical": [...], "control": [...]} (first sentences of the RMHD
    posts of the clinical and the 10 non-clinical subreddits; empty posts dropped)."""
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"])
    frame = frame[frame["subreddit"].isin(CLINICAL_SUBREDDITS + RMHD_CONTROL_SUBREDDITS)]
    frame = frame.assign(response=[first_sentences(p, max_words) for p in frame["post"].fillna("")])
    frame = frame[frame["response"].str.len() > 0]
    clinical = frame["subreddit"].isin(CLINICAL_SUBREDDITS).to_numpy()
    return {"clinical": frame["response"].to_numpy()[clinical], "control": frame["response"].to_numpy()[~clinical]}


def draw_interviews(pool: dict[str, np.ndarray], count: int, rng: np.random.Generator, prefix: str,
                    turns: tuple[int, int] = (8, 20)) -> list[dict]:
    """`count` interview records (see the module docstring) whose responses come from `pool` only."""
    records = []
    for i in range(count):
        n = int(rng.integers(turns[0], turns[1] + 1))
        k = min(int(rng.choice(len(CLINICAL_TURNS_P), p=CLINICAL_TURNS_P)), n)
        clinical_at = set(rng.choice(n, size=k, replace=False).tolist())
        clinical = iter(rng.choice(pool["clinical"], size=k, replace=False))
        control = iter(rng.choice(pool["control"], size=n - k, replace=False))
        prompts = rng.choice(len(NEUTRAL_PROMPTS), size=n)
        records.append({
            "interview_id": f"{prefix}-{i:04d}",
            "turns": [{"prompt": NEUTRAL_PROMPTS[prompts[j]],
                       "response": str(next(clinical) if j in clinical_at else next(control)),
                       "importance": int(j in clinical_at)} for j in range(n)],
            "score": score_for(k),
            "label": int(score_for(k) >= SCORE_THRESHOLD),
        })
    return records


def deal_pool(pool: dict[str, np.ndarray], shares, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Each kind of post dealt at random into disjoint pools holding the given shares of it."""
    shares = np.asarray(shares, dtype=np.float64) / np.sum(shares)
    out: list[dict[str, np.ndarray]] = [{} for _ in shares]
    for kind, posts in pool.items():
        cuts = np.round(np.cumsum(shares)[:-1] * len(posts)).astype(int)
        for index, chunk in enumerate(np.split(rng.permutation(len(posts)), cuts)):
            out[index][kind] = posts[chunk]
    return out


def rmhd_interviews(train: int = 200, validation: int = 50, test: int = 50, seed: int = 0,
                    max_words: int = 40) -> DatasetDict:
    """SIMULATED interviews (module docstring) in the `interviews` schema: train/validation/test drawn from
    disjoint parts of the post pool, sized in proportion to the interviews each split holds."""
    for name, value in (("train", train), ("validation", validation), ("test", test)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a number of interviews >= 1, got {value!r}.")
    rng = np.random.default_rng(seed)
    sizes = {"train": train, "validation": validation, "test": test}
    pools = deal_pool(rmhd_response_pool(max_words), list(sizes.values()), rng)
    splits = {}
    for (name, size), pool in zip(sizes.items(), pools):
        splits[name] = interviews_from_records(draw_interviews(pool, size, rng, f"{SIMULATED_PREFIX}{seed}-{name}"),
                                               f"simulated RMHD interviews[{name}]")
    return DatasetDict(splits)


def rmhd_interview_folds(folds: int = 5, interviews: int = 300, seed: int = 0, validation_share: float = 0.15,
                         max_words: int = 40):
    """K-fold evaluation on SIMULATED interviews without shared posts: the post pool is dealt into `folds` parts;
    fold k's test interviews (interviews / folds) come from part k, its training and validation interviews from
    the other parts (their posts split again, `validation_share` for validation). Yields (k, DatasetDict)."""
    if folds < 2 or interviews < 2 * folds:
        raise ValueError(f"Need folds >= 2 and at least 2 interviews per fold, got {folds} folds, {interviews}.")
    rng = np.random.default_rng(seed)
    parts = deal_pool(rmhd_response_pool(max_words), [1] * folds, rng)
    per_fold = interviews // folds
    n_validation = max(1, round((interviews - per_fold) * validation_share))
    n_train = interviews - per_fold - n_validation
    for k in range(folds):
        rest = {kind: np.concatenate([p[kind] for j, p in enumerate(parts) if j != k]) for kind in parts[k]}
        train_pool, validation_pool = deal_pool(rest, [1 - validation_share, validation_share], rng)
        stem = f"{SIMULATED_PREFIX}{seed}-f{k}"
        records = {
            "train": draw_interviews(train_pool, n_train, rng, f"{stem}-train"),
            "validation": draw_interviews(validation_pool, n_validation, rng, f"{stem}-validation"),
            "test": draw_interviews(parts[k], per_fold, rng, f"{stem}-test"),
        }
        yield k, DatasetDict({name: interviews_from_records(rows, f"simulated RMHD interviews, fold {k} [{name}]")
                              for name, rows in records.items()})
