"""Decision policies: a stream of scores (one per post or chunk of posts) -> one decision and its delay.

A user is flagged the first time the score clears the threshold (score >= threshold) at a step where at least
`min_posts` posts have been read, and, with `patience` P > 1, only once it has cleared it at P consecutive such
steps. The delay is the number of posts read at that step. A user never flagged is decided negative after the last
post (the delay of a negative decision costs nothing in ERDE or F_latency).

`choose_early_policy` picks the threshold on validation users: the one with the highest F_latency (ties: higher F1,
then the lower ERDE_50, then the higher threshold, i.e. fewer alarms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

#: at most this many candidate thresholds are tried on validation (quantiles of the clearing scores beyond it)
MAX_CANDIDATES = 2000


@dataclass
class Trajectory:
    """One user's scores as the posts arrive: after step i, `posts_seen[i]` posts were read and the score was
    `scores[i]` (P(depression) for DORIS and the Hybrid aggregate)."""

    user_id: str
    posts_seen: list[int]
    scores: list[float]
    label: int | None = None
    uncalibrated: list[float] | None = None

    def __post_init__(self):
        if not self.scores or len(self.scores) != len(self.posts_seen):
            raise ValueError(f"user {self.user_id!r}: a trajectory needs one score per step, got "
                             f"{len(self.scores)} scores for {len(self.posts_seen)} steps.")

    @property
    def num_posts(self) -> int:
        return int(self.posts_seen[-1])


@dataclass
class Decision:
    decision: int  # 1: flagged at risk, 0: not flagged after the last post
    delay: int  # posts read when decided
    step: int | None  # the step at which the user was flagged (None: never)


@dataclass
class DecisionPolicy:
    """Flag when the score clears `threshold` after >= `min_posts` posts, `patience` steps in a row."""

    threshold: float = 0.5
    min_posts: int = 1
    patience: int = 1
    rule: str = field(default="given")

    def __post_init__(self):
        if not math.isfinite(self.threshold):
            raise ValueError(f"The decision threshold must be a finite number, got {self.threshold}.")
        if int(self.min_posts) != self.min_posts or self.min_posts < 1:
            raise ValueError(f"--min_posts must be a whole number >= 1, got {self.min_posts}.")
        if int(self.patience) != self.patience or self.patience < 1:
            raise ValueError(f"--patience must be a whole number >= 1, got {self.patience}.")
        self.min_posts, self.patience = int(self.min_posts), int(self.patience)

    def start(self) -> OnlineDecider:
        """A decider for one user's stream, fed step by step (what a deployed system does)."""
        return OnlineDecider(self)

    def decide(self, trajectory: Trajectory) -> Decision:
        decider = self.start()
        for step, (seen, score) in enumerate(zip(trajectory.posts_seen, trajectory.scores)):
            if decider.update(seen, score):
                return Decision(1, int(seen), step)
        return Decision(0, trajectory.num_posts, None)

    def as_dict(self) -> dict:
        return asdict(self)


class OnlineDecider:
    """The policy's state for one user: `update(posts_seen, score)` is True at the step the user is flagged (and
    stays True after)."""

    def __init__(self, policy: DecisionPolicy):
        self.policy = policy
        self.run = 0
        self.flagged_at: int | None = None

    def update(self, posts_seen: int, score: float) -> bool:
        if self.flagged_at is not None:
            return True
        eligible = posts_seen >= self.policy.min_posts
        self.run = self.run + 1 if eligible and score >= self.policy.threshold else 0
        if self.run >= self.policy.patience:
            self.flagged_at = int(posts_seen)
            return True
        return False


def decide_all(trajectories: Sequence[Trajectory], policy: DecisionPolicy) -> list[Decision]:
    return [policy.decide(t) for t in trajectories]


def _window_scores(trajectory: Trajectory, min_posts: int, patience: int) -> tuple[np.ndarray, np.ndarray]:
    """(the highest threshold at which each step would flag, posts seen per step): the minimum score over the
    last `patience` steps when all of them are eligible (>= min_posts); -inf (never flags) where they are not."""
    scores = np.asarray(trajectory.scores, dtype=np.float64)
    seen = np.asarray(trajectory.posts_seen)
    eligible = seen >= min_posts
    need = np.full(scores.size, -np.inf)
    for j in range(patience - 1, scores.size):
        window = slice(j - patience + 1, j + 1)
        if eligible[window].all():
            need[j] = scores[window].min()
    return need, seen


def _decisions_at(needs: list[np.ndarray], seens: list[np.ndarray], totals: np.ndarray,
                  threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Decisions and delays of every user at one threshold, from the window scores (the policy's rule)."""
    decisions = np.zeros(len(needs), dtype=int)
    delays = totals.copy()
    for u, (need, seen) in enumerate(zip(needs, seens)):
        hits = np.flatnonzero(need >= threshold)
        if hits.size:
            decisions[u], delays[u] = 1, seen[hits[0]]
    return decisions, delays


def choose_early_policy(trajectories: Sequence[Trajectory], min_posts: int = 1, patience: int = 1,
                     p: float | None = None) -> tuple[DecisionPolicy, dict]:
    """The policy whose threshold gives the highest F_latency on labelled (validation) trajectories.

    Returns the policy and what was found there (its F_latency, F1, ERDE_5/50 on those users). `p` defaults to
    the rate derived from these users' numbers of posts.
    """
    from .metrics import early_risk_metrics, penalty_rate

    labels = np.array([t.label for t in trajectories])
    if not len(trajectories) or not np.isin(labels, (0, 1)).all():
        raise ValueError("Choosing a threshold needs validation users labelled 0 or 1.")
    if labels.sum() == 0:
        raise ValueError("The validation users hold no depressed user: no threshold can be chosen on them; pass "
                         "--threshold, or validation data with depressed users.")
    probe = DecisionPolicy(0.5, min_posts, patience)  # validates min_posts / patience
    totals = np.array([t.num_posts for t in trajectories])
    p = penalty_rate(totals) if p is None else p
    windows = [_window_scores(t, probe.min_posts, probe.patience) for t in trajectories]
    needs, seens = [w[0] for w in windows], [w[1] for w in windows]
    values = np.unique(np.concatenate([n[np.isfinite(n)] for n in needs] or [np.zeros(0)]))
    if values.size == 0:
        raise ValueError(f"No validation user has enough posts for min_posts={min_posts} and patience={patience}.")
    if values.size > MAX_CANDIDATES:
        values = np.unique(np.quantile(values, np.linspace(0, 1, MAX_CANDIDATES)))
    best, best_key, found = None, None, None
    for threshold in values:
        decisions, delays = _decisions_at(needs, seens, totals, float(threshold))
        metrics = early_risk_metrics(decisions, delays, labels, p=p)
        key = (metrics["f_latency"], metrics["f1"], -metrics["erde_50"], threshold)
        if best_key is None or key > best_key:
            best, best_key, found = float(threshold), key, metrics
    policy = DecisionPolicy(best, probe.min_posts, probe.patience,
                            rule=f"highest F_latency on {len(trajectories)} validation users")
    return policy, found
