"""DORIS in early risk detection (`depdetect predict/evaluate --early`): its own running state per user
(depdetect.doris.streaming), the same features as scoring the whole history at once. The registry's `early` for
DORIS."""

from __future__ import annotations


class DorisStreams:
    """User streams of a loaded DorisPipeline: posts embedded in large batches first (`prefetch`)."""

    def __init__(self, predictor, aggregate: str = "max", batch_size: int = 32):
        self.predictor = predictor

    def saved_threshold(self) -> tuple[float, str]:
        config = self.predictor.config
        return float(config.decision_threshold), (f"the model's saved threshold ({config.threshold_rule}; chosen for "
                                                  "whole histories, not for early decisions)")

    def prefetch(self, users: list[dict]) -> None:
        self.predictor.prefetch(users)

    def stream(self, user_id: str, evidence: bool):
        return self.predictor.stream(user_id, evidence=evidence)

    def final_inputs(self, runs: list[dict], labels: list[int], documents: list[list[str]], policy) -> dict:
        """The usual report's inputs from the final scores (equal to scoring the whole history at once)."""
        config = self.predictor.config
        return {"task": "classification", "y": labels,
                "uncalibrated": [r["trajectory"].uncalibrated[-1] for r in runs],
                "calibration": config.calibration or None, "decision_threshold": config.decision_threshold,
                "threshold_rule": config.threshold_rule, "documents": documents}

    def describe(self) -> dict:
        return {}
