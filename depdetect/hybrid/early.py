"""The Hybrid in early risk detection (`depdetect predict/evaluate --early`): each post's P(depression), aggregated
over a user's posts so far (`HybridUserStream`, `--aggregate`). The registry's `early` for the Hybrid."""

from __future__ import annotations

from tqdm.auto import tqdm

from ..early.streams import HybridUserStream, PrecomputedScorer


class HybridStreams:
    """User streams of a loaded Hybrid pipeline: every distinct post scored once in large batches (`prefetch`)."""

    def __init__(self, predictor, aggregate: str = "max", batch_size: int = 32):
        config = predictor.model.config
        if config.num_labels != 2:
            raise ValueError(f"The Hybrid aggregate needs a two-class model (depression vs control); this one "
                             f"has {config.num_labels} labels.")
        self.predictor, self.aggregate, self.batch_size = predictor, aggregate, batch_size
        self.post_threshold = float(config.decision_threshold if config.decision_threshold is not None else 0.5)
        self._scorer = None

    def saved_threshold(self) -> tuple[float, str]:
        return self.post_threshold, (f"the Hybrid's saved threshold for single posts, applied to the {self.aggregate} "
                                     "aggregate (pass --validation to choose one for users)")

    def prefetch(self, users: list[dict]) -> None:
        texts = list(dict.fromkeys(p["text"] for u in users for p in u["posts"]))  # each distinct post once
        probabilities = []
        steps = range(0, len(texts), self.batch_size)
        for start in tqdm(steps, desc="scoring posts", unit="batch", leave=False, disable=len(steps) < 10):
            batch = texts[start : start + self.batch_size]
            probabilities += [o["probability"] for o in self.predictor(batch, batch_size=len(batch), explain=False)]
        self._scorer = PrecomputedScorer(texts, probabilities)

    def stream(self, user_id: str, evidence: bool):
        return HybridUserStream(self._scorer or self._score_now, self.aggregate, self.post_threshold, user_id)

    def _score_now(self, texts: list[str]) -> list[float]:
        return [o["probability"] for o in self.predictor(texts, batch_size=len(texts), explain=False)]

    def final_inputs(self, runs: list[dict], labels: list[int], documents: list[list[str]], policy) -> dict:
        """The usual report's inputs from the final aggregate (not calibrated at the user level)."""
        return {"task": "classification", "y": labels, "uncalibrated": [r["trajectory"].scores[-1] for r in runs],
                "calibration": None, "decision_threshold": policy.threshold,
                "threshold_rule": f"the early policy's ({policy.rule})", "documents": documents}

    def describe(self) -> dict:
        """What the early result records of how the users were scored."""
        return {"aggregate": self.aggregate}
