"""Latency-weighted F1 (Sadeque, Xu and Bethard 2018), as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/f_latency")`. `latency_f1` is the formula itself; depdetect's library
(`depdetect.early.metrics`) calls it from here, so the formula is written once.
"""

import math

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
F_latency (Sadeque et al. 2018, used by CLEF eRisk since 2017's follow-ups and by MentalRiskES) multiplies the F1
of the at-risk decisions by a speed factor. A true positive decided after k writings gets the penalty
penalty(k) = -1 + 2 / (1 + e^(-p (k - 1))): 0 when the alarm comes with the first writing, rising towards 1 with
delay. speed = 1 - the median penalty over the true positives, and F_latency = F1 x speed. p sets how quickly delay
costs: by default p = ln(3) / (median number of writings per user - 1), so that the penalty is 0.5 at the median
history length of the collection (the eRisk 2019 choice p = 0.0078 follows the same rule on its data). latency_TP
is the median k over the true positives. Higher F_latency is better; with no true positive it is 0 and speed and
latency_TP are undefined (NaN).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): the decision per user, 1 (at risk) or 0.
    delays (`list` of `int`): per user, the number of writings read when the decision was taken (k >= 1).
    references (`list` of `int`): the true label per user, 1 or 0.
    p (`float`): the penalty's rate; default: from `median_posts`.
    median_posts (`float`): the median number of writings per user in the collection (needed when p is not given;
        must exceed 1).
Returns:
    f_latency, f1, precision, recall, speed, latency_tp (`float`), p (`float`): the rate used.
Examples:
    >>> f_latency = evaluate.load("depdetect/evaluate_metrics/f_latency")
    >>> f_latency.compute(predictions=[1, 0], delays=[1, 4], references=[1, 0], p=0.5)["f_latency"]
    1.0
"""

_CITATION = """
@inproceedings{sadeque2018measuring,
  title={Measuring the Latency of Depression Detection in Social Media},
  author={Sadeque, Farig and Xu, Dongfang and Bethard, Steven},
  booktitle={WSDM 2018},
  pages={495--503},
  year={2018}
}
"""


def penalty_rate(median_posts):
    """p = ln(3) / (median writings per user - 1): the penalty is 0.5 at the median history length."""
    if not math.isfinite(median_posts) or median_posts <= 1:
        raise ValueError(f"The median number of writings per user is {median_posts}; the default penalty rate needs "
                         "more than 1. Pass p explicitly.")
    return math.log(3.0) / (median_posts - 1.0)


def latency_penalty(delays, p):
    """penalty(k) = -1 + 2 / (1 + e^(-p (k - 1))), elementwise (= tanh(p (k - 1) / 2), without overflow)."""
    return np.tanh(p * (np.asarray(delays, dtype=np.float64) - 1.0) / 2.0)


def latency_f1(decisions, delays, labels, p):
    """F_latency and its parts for checked 0/1 decisions, delays (k >= 1) and 0/1 labels."""
    if not p > 0 or not math.isfinite(p):
        raise ValueError(f"p must be a positive number, got {p}.")
    decisions, labels = np.asarray(decisions), np.asarray(labels)
    tp_mask = (decisions == 1) & (labels == 1)
    tp = int(tp_mask.sum())
    flagged, positives = int((decisions == 1).sum()), int((labels == 1).sum())
    precision = tp / flagged if flagged else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    k = np.asarray(delays, dtype=np.float64)[tp_mask]
    speed = float(1.0 - np.median(latency_penalty(k, p))) if tp else float("nan")
    return {
        "f_latency": float(f1 * speed) if tp else 0.0,
        "f1": float(f1),
        "precision": float(precision),
        "recall": float(recall),
        "speed": speed,
        "latency_tp": float(np.median(k)) if tp else float("nan"),
        "p": float(p),
    }


def _checked(predictions, delays, references):
    decisions, labels = np.asarray(predictions), np.asarray(references)
    k = np.asarray(delays, dtype=np.float64)
    if not decisions.shape == labels.shape == k.shape or decisions.ndim != 1:
        raise ValueError(f"predictions, delays and references need one value per user, got {decisions.shape}, "
                         f"{k.shape} and {labels.shape}.")
    if decisions.size == 0:
        raise ValueError("No users to score.")
    for name, values in (("predictions", decisions), ("references", labels)):
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"{name} must be 0 or 1 per user, got {sorted(set(values.tolist()))[:5]}.")
    if not np.isfinite(k).all() or (k < 1).any() or (k != np.round(k)).any():
        raise ValueError("delays must be whole numbers of writings >= 1 (the writings read before deciding).")
    return decisions.astype(int), k, labels.astype(int)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class FLatency(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.Value("int64"),
                "delays": datasets.Value("int64"),
                "references": datasets.Value("int64"),
            }),
            reference_urls=["https://doi.org/10.1145/3159652.3159725"],
        )

    def _compute(self, predictions, delays, references, p=None, median_posts=None):
        decisions, k, labels = _checked(predictions, delays, references)
        if p is None:
            if median_posts is None:
                raise ValueError("Pass p, or median_posts (the median number of writings per user) to derive it.")
            p = penalty_rate(float(median_posts))
        return latency_f1(decisions, k, labels, float(p))
