"""Calibration of P(positive): the binary expected calibration error (ECE) with Guo et al.'s top-label ECE beside it,
the Brier score and the reliability bins, as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/calibration")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
How far predicted probabilities are from observed frequencies. `ece` is the binary (positive-class) expected
calibration error: the examples are sorted into bins by P(positive), and |mean P(positive) - share of positives|
is averaged over the bins, weighted by their size. It equals torchmetrics' `binary_calibration_error` (l1 norm)
and the class-wise ECE of Kull et al. 2019 for the positive class; 0 for a perfectly calibrated model, and an ECE
of 0.1 means P(depression) is off by 10 points on average. `top_label_ece` is the ECE of Guo et al. 2017: the same
over the confidence of the predicted class, max(p, 1 - p), against how often that class is right; it says nothing
about probabilities below 0.5 on their own, so depdetect reports `ece`, which reads P(depression) directly. Both use
15 equal-width bins by default (Guo et al.), so values compare with the literature; with rare positives most
examples fall in the first bin, and equal-mass bins (`strategy="mass"`) spread them evenly. The Brier score is the
mean squared difference between P(positive) and the 0/1 label (0.25 for a constant 0.5; lower is better); it mixes
calibration and discrimination. `bins` lists each non-empty bin of P(positive) for a reliability diagram.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): P(positive) in [0, 1], one per example.
    references (`list` of `int`): 1 for positive, 0 for negative.
    n_bins (`int`, default 15): number of bins.
    strategy (`str`, default "width"): "width" (equal-width bins over [0, 1]) or "mass" (equal numbers of examples).
Returns:
    ece (`float`): binary ECE of P(positive); top_label_ece (`float`): Guo et al.'s ECE of the predicted class's
    confidence; brier (`float`); bins (`list` of {bin, confidence, positive_rate, count}, over P(positive)).
Examples:
    >>> calibration = evaluate.load("depdetect/evaluate_metrics/calibration")
    >>> result = calibration.compute(predictions=[0.9, 0.9, 0.1, 0.1], references=[1, 0, 0, 0])
    >>> result["ece"], result["top_label_ece"]
    (0.25, 0.15)
"""

_CITATION = """
@inproceedings{guo2017calibration,
  title={On Calibration of Modern Neural Networks},
  author={Guo, Chuan and Pleiss, Geoff and Sun, Yu and Weinberger, Kilian Q.},
  booktitle={ICML},
  year={2017}
}
@inproceedings{kull2019beyond,
  title={Beyond temperature scaling: Obtaining well-calibrated multi-class probabilities with {D}irichlet
         calibration},
  author={Kull, Meelis and Perello-Nieto, Miquel and K{\"a}ngsepp, Markus and Silva Filho, Telmo and Song, Hao and
          Flach, Peter},
  booktitle={NeurIPS},
  year={2019}
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
        if strategy not in ("width", "mass"):
            raise ValueError(f"strategy must be 'width' or 'mass', got {strategy!r}.")
        bins = _bins(p, y, int(n_bins), strategy)
        top = _bins(np.maximum(p, 1 - p), ((p > 0.5).astype(int) == y).astype(int), int(n_bins), strategy)
        return {"ece": _ece(bins, p.size), "top_label_ece": _ece(top, p.size), "brier": float(np.mean((p - y) ** 2)),
                "bins": bins}


def _bins(p, y, n_bins, strategy):
    """Each non-empty bin of `p`: its mean p (confidence), its mean y (positive_rate) and its size."""
    if strategy == "width":
        index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    else:
        index = np.zeros(p.size, dtype=int)
        index[np.argsort(p, kind="stable")] = np.arange(p.size) * n_bins // p.size
    bins = []
    for b in range(n_bins):
        members = index == b
        if members.any():
            bins.append({"bin": b, "confidence": float(p[members].mean()),
                         "positive_rate": float(y[members].mean()), "count": int(members.sum())})
    return bins


def _ece(bins, total):
    return float(sum(r["count"] * abs(r["confidence"] - r["positive_rate"]) for r in bins) / total)
