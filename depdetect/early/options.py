"""The `--early` flags of `depdetect predict/evaluate`, each default and help defined once (standard library only,
so `--help` stays fast)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: ERDE deadlines reported by default (the eRisk labs report ERDE_5 and ERDE_50)
DEFAULT_DEADLINES = (5, 50)
AGGREGATES = ("mean", "max", "share")
#: flags only `evaluate` has (they shape the metrics)
EVALUATE_ONLY = ("erde_o", "latency_p", "c_fp")


@dataclass(kw_only=True)
class EarlyOptions:
    """How users are streamed, decided and (evaluate) scored."""

    chunk_size: int = field(default=1, metadata={"help": (
        "Posts read per step: one decision point per step (eRisk 2017-2018 released histories in 10 chunks).")})
    min_posts: int = field(default=1, metadata={"help": "Never flag a user before this many posts were read."})
    patience: int = field(default=1, metadata={"help": (
        "Flag only once the score cleared the threshold this many steps in a row.")})
    decision_threshold: float | None = field(default=None, metadata={"aliases": ["--threshold"], "help": (
        "The decision threshold on P(depression) (default: chosen on --validation users, else the model's saved "
        "threshold). (--threshold before depdetect 0.8.)")})
    validation: str | None = field(default=None, metadata={"help": (
        "Labelled users to choose the threshold on (file, or dataset folder: its --validation_split): the highest "
        "F_latency under the same chunk size, min_posts and patience.")})
    validation_split: str = field(default="validation", metadata={"help": (
        "The split of a dataset folder given as --validation.")})
    aggregate: str = field(default="max", metadata={"choices": AGGREGATES, "help": (
        "Hybrid models: how per-post P(depression) becomes the user's score: the max over the posts so far (best "
        "on the simulated cohort, see BENCHMARKS.md; false alarms grow with history length), the mean, or the "
        "share of posts at or above the Hybrid's own threshold.")})
    erde_o: list[float] = field(default_factory=lambda: list(DEFAULT_DEADLINES), metadata={"help": (
        "ERDE deadlines o, in posts.")})
    latency_p: float | None = field(default=None, metadata={"help": (
        "F_latency's penalty rate p (default: ln(3)/(median posts per user - 1), from DATA).")})
    c_fp: float | None = field(default=None, metadata={"help": (
        "ERDE's false-positive cost (default: the share of depressed users in DATA).")})

    def __post_init__(self):
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"--aggregate must be one of {AGGREGATES}, got {self.aggregate!r}.")
        for name in ("chunk_size", "min_posts", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a whole number >= 1, got {value!r}.")
        if self.decision_threshold is not None and self.validation:
            raise ValueError("Pass --decision_threshold or --validation, not both.")
        if self.decision_threshold is not None and not 0 <= self.decision_threshold <= 1:
            raise ValueError(f"--decision_threshold is a probability: it must be in [0, 1], got "
                             f"{self.decision_threshold} (above 1 no user could ever be flagged).")
        self.erde_o = [float(o) for o in self.erde_o]
        if not self.erde_o or any(not (o > 0 and math.isfinite(o)) for o in self.erde_o):
            raise ValueError(f"--erde_o takes positive numbers of posts, got {self.erde_o}.")
        if self.latency_p is not None and not (self.latency_p > 0 and math.isfinite(self.latency_p)):
            raise ValueError(f"--latency_p must be a positive number, got {self.latency_p}.")
        if self.c_fp is not None and not (self.c_fp >= 0 and math.isfinite(self.c_fp)):
            raise ValueError(f"--c_fp must be a number >= 0, got {self.c_fp}.")
