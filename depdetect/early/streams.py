"""Streams of scores for user-level early risk detection: a user's posts fed in time order, one post (or one chunk of
`chunk_size` posts) at a time, to a system's running state; the score after each step is the trajectory.

A stream has `add(posts) -> P(depression)`, `uncalibrated` (the score before the saved calibration, or None),
`num_posts` and `evidence() -> dict`. Two kinds:

* DORIS: `DorisPipeline.stream(user_id)` (depdetect.doris.streaming): running feature sums, the mood course
  refreshed only when an emotional post arrives.
* The Hybrid aggregate (`HybridUserStream`): the Hybrid's P(depression) of each post (calibrated), aggregated over
  the posts so far: `max` (the default), `mean` or `share` (of posts at or above the Hybrid's own threshold).
  `max` is the default because it measured best on the simulated RMHD cohort (bench/early_risk.py, 3 seeds:
  F_latency 0.555 against 0.252 for mean and 0.181 for share; ERDE_50 1.43 against 3.35 and 3.41): one clearly
  depression-like post is what sets a depressed user apart there, and the mean and the share are dominated by the
  first posts, so the threshold chosen on validation users made them fire at the first post. The price of `max`:
  it only grows as posts arrive, so a control's false alarm becomes likelier the longer the history (the cohort's
  histories hold 10-40 posts; eRisk's hold hundreds): compare `--aggregate mean` on your own data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from .options import AGGREGATES
from .policy import DecisionPolicy, Trajectory

logger = logging.getLogger(__name__)


def ordered_posts(user: dict) -> tuple[list[dict], str | None]:
    """A checked user's posts in time order, and a note when they were not given so: dated posts out of order are
    sorted (stable), with a warning naming the user; undated posts keep their given order (said so)."""
    from ..schemas import parse_timestamp

    posts = user["posts"]
    name = user.get("user_id", "?")
    times = [parse_timestamp(p.get("timestamp"), f"user {name!r}") for p in posts]
    if any(t is None for t in times):
        undated = sum(t is None for t in times)
        note = (f"user {name!r}: {undated} of {len(posts)} posts have no timestamp; the posts are read in the "
                "order given.")
        logger.warning(note)
        return list(posts), note
    order = sorted(range(len(posts)), key=lambda i: times[i])
    if order != list(range(len(posts))):
        note = f"user {name!r}: the posts were not in time order; they are read sorted by their timestamps."
        logger.warning(note)
        return [posts[i] for i in order], note
    return list(posts), None


def chunks(posts: list, chunk_size: int) -> list[list]:
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"--chunk_size must be a whole number of posts >= 1, got {chunk_size}.")
    return [posts[i : i + chunk_size] for i in range(0, len(posts), chunk_size)]


def run_stream(stream, user: dict, chunk_size: int = 1, policy: DecisionPolicy | None = None,
               evidence: bool = False, progress=None) -> dict:
    """Feed a checked user's posts (time order) to `stream`, `chunk_size` at a time.

    Returns {"trajectory": Trajectory, "decision": Decision or None, "evidence": the stream's evidence at the
    decision (at the last post when never flagged), "note": the ordering note or None, "decided_at": the
    timestamp of the post at which the user was flagged}. The whole history is read
    even after a decision, so the trajectory shows the score's full course. `progress(n)` is told each chunk's
    number of posts as it is read.
    """
    from .policy import Decision

    posts, note = ordered_posts(user)
    if not posts:
        raise ValueError(f"user {user.get('user_id', '?')!r} has no posts; drop the user or give it at least one "
                         "post.")
    decider = policy.start() if policy is not None else None
    seen, scores, raw, decision, kept, decided_at = [], [], [], None, None, None
    for step, chunk in enumerate(chunks(posts, chunk_size)):
        score = stream.add(chunk)
        if progress is not None:
            progress(len(chunk))
        seen.append(stream.num_posts)
        scores.append(float(score))
        raw.append(stream.uncalibrated)
        if decider is not None and decision is None and decider.update(stream.num_posts, score):
            decision = Decision(1, int(stream.num_posts), step)
            decided_at = chunk[-1].get("timestamp")
            if evidence:
                kept = stream.evidence()
    if decider is not None and decision is None:
        decision = Decision(0, int(stream.num_posts), None)
    if evidence and kept is None:
        kept = stream.evidence()
    label = user.get("label")
    trajectory = Trajectory(str(user.get("user_id", "?")), seen, scores,
                            label=int(label) if label in (0, 1) else None,
                            uncalibrated=None if any(r is None for r in raw) else [float(r) for r in raw])
    return {"trajectory": trajectory, "decision": decision, "evidence": kept, "note": note, "decided_at": decided_at}


class HybridUserStream:
    """The Hybrid as a user-level system: its P(depression) per post, aggregated over the posts so far.

    Args:
        post_probabilities: `texts -> P(depression) per text` (the Hybrid pipeline's calibrated probability).
        aggregate: "max" (default), "mean" or "share" (see the module docstring).
        post_threshold: the Hybrid's decision threshold for one post (`share` counts the posts at or above it).
        user_id: names the user in errors.
    """

    def __init__(self, post_probabilities: Callable[[list[str]], Sequence[float]], aggregate: str = "max",
                 post_threshold: float = 0.5, user_id: str = "user"):
        if aggregate not in AGGREGATES:
            raise ValueError(f"--aggregate must be one of {AGGREGATES}, got {aggregate!r}.")
        self.post_probabilities = post_probabilities
        self.aggregate, self.post_threshold, self.user_id = aggregate, float(post_threshold), str(user_id)
        self.num_posts = 0
        self.total = 0.0
        self.highest = -np.inf
        self.above = 0
        self.top: list[tuple[float, int, str | None]] = []  # (probability, post index, timestamp), the 3 highest
        self.uncalibrated = None  # the aggregate is not calibrated at the user level
        self.score: float | None = None

    def add(self, posts) -> float:
        from ..schemas import check_user

        chunk = posts if isinstance(posts, list) else [posts]
        checked = check_user({"user_id": self.user_id, "posts": chunk}, "stream")["posts"]
        probabilities = np.asarray(self.post_probabilities([p["text"] for p in checked]), dtype=np.float64)
        if probabilities.shape != (len(checked),) or not np.isfinite(probabilities).all():
            raise ValueError(f"The post scorer returned {probabilities.shape} values for {len(checked)} posts.")
        for post, p in zip(checked, probabilities):
            self.top = sorted([*self.top, (float(p), self.num_posts, post["timestamp"])], key=lambda t: -t[0])[:3]
            self.num_posts += 1
            self.total += float(p)
            self.highest = max(self.highest, float(p))
            self.above += int(p >= self.post_threshold)
        self.score = {"mean": self.total / self.num_posts, "max": self.highest,
                      "share": self.above / self.num_posts}[self.aggregate]
        return self.score

    def evidence(self) -> dict:
        """The aggregate so far and the (at most 3) posts the Hybrid found most depression-like (their place in
        the stream and P(depression); the texts are the user's own input and are not copied)."""
        if self.score is None:
            raise ValueError(f"user {self.user_id!r} has no posts yet: add at least one before asking for evidence.")
        return {"aggregate": self.aggregate, "score": self.score, "posts_seen": self.num_posts,
                "mean_probability": self.total / self.num_posts, "max_probability": self.highest,
                "share_above_post_threshold": self.above / self.num_posts, "post_threshold": self.post_threshold,
                "top_posts": [{"post": i, "timestamp": t, "probability": p} for p, i, t in self.top]}


class PrecomputedScorer:
    """`texts -> probabilities` answered from probabilities computed beforehand in large batches (the Hybrid's per-post
    probability does not depend on the rest of the history, so batching all posts first changes nothing)."""

    def __init__(self, texts: Sequence[str], probabilities: Sequence[float]):
        self.known = dict(zip(texts, (float(p) for p in probabilities)))

    def __call__(self, texts: list[str]) -> list[float]:
        return [self.known[t] for t in texts]
