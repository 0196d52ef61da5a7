"""Calibration of P(positive): expected calibration error (ECE), Brier score and the reliability bins, as an
evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/calibration")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
How far predicted probabilities are from observed frequencies. ECE sorts the examples into bins by P(positive)
and averages |mean predicted probability - share of positives| over the bins, weighted by their size: 0 for a
perfectly calibrated model; an ECE of 0.1 means probabilities are off by 10 points on average. 15 equal-width bins
by default (Guo et al. 2017), so values compare with the literature; with rare positives most examples fall in the
first bin, and equal-mass bins (`strategy="mass"`) spread them evenly. The Brier score is the mean squared
difference between P(positive) and the 0/1 label (0.25 for a constant 0.5; lower is better); it mixes
calibration and discrimination. `bins` lists each non-empty bin for a reliability diagram.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): P(positive) in [0, 1], one per example.
    references (`list` of `int`): 1 for positive, 0 for negative.
    n_bins (`int`, default 15): number of bins.
    strategy (`str`, default "width"): "width" (equal-width bins over [0, 1]) or "mass" (equal numbers of examples).
Returns:
    ece (`float`), brier (`float`), bins (`list` of {bin, confidence, positive_rate, count}).
Examples:
    >>> calibration = evaluate.load("depdetect/evaluate_metrics/calibration")
    >>> calibration.compute(predictions=[0.9, 0.9, 0.1, 0.1], references=[1, 0, 0, 0])["ece"]
    0.25
"""

_CITATION = """
@inproceedings{guo2017calibration,
  title={On Calibration of Modern Neural Networks},
  author={Guo, Chuan and Pleiss, Geoff and Sun, Yu and Weinberger, Kilian Q.},
  booktitle={ICML},
  year={2017}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Calibration(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, n_bins=15, strategy="width"):
        p = np.asarray(predictions, dtype=np.float64)
        y = np.asarray(references)
        if p.size == 0:
            raise ValueError("No examples to score.")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("Calibration needs binary references (0/1).")
        if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
            raise ValueError("predictions must be probabilities in [0, 1].")
        if int(n_bins) < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}.")
        n_bins = int(n_bins)
        if strategy == "width":
            index = np.minimum((p * n_bins).astype(int), n_bins - 1)
        elif strategy == "mass":
            index = np.zeros(p.size, dtype=int)
            index[np.argsort(p, kind="stable")] = np.arange(p.size) * n_bins // p.size
        else:
            raise ValueError(f"strategy must be 'width' or 'mass', got {strategy!r}.")
        bins = []
        for b in range(n_bins):
            members = index == b
            if members.any():
                bins.append({"bin": b, "confidence": float(p[members].mean()),
                             "positive_rate": float(y[members].mean()), "count": int(members.sum())})
        ece = sum(r["count"] * abs(r["confidence"] - r["positive_rate"]) for r in bins) / p.size
        return {"ece": float(ece), "brier": float(np.mean((p - y) ** 2)), "bins": bins}
