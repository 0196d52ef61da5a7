"""Recall@k of attention against annotated important turns, as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/recall_at_k")`.
"""

import math

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Recall@k (arXiv 2505.24609): for each interview, the share of its annotated important turns found among its top
ceil(k * n) turns by attention, averaged over interviews. It asks whether the model looks where a clinician would:
at k = 10%, a value of 0.4 means 40% of the important turns are in the model's top tenth. Interviews with any
unknown importance (-1) or no important turn are skipped (recall is undefined there) and counted. A random
ranking scores about k.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per interview, the attention of each turn.
    references (`list` of `list` of `int`): per interview, each turn's importance: 1, 0, or -1 unknown.
    k (`float` or `list` of `float`): fractions of turns in (0, 1]; default (0.1, 0.3, 0.5).
Returns:
    recall@K% (`float`) for each k (NaN when no interview could be scored), interviews_scored (`int`),
    interviews_skipped (`int`).
Examples:
    >>> recall = evaluate.load("depdetect/evaluate_metrics/recall_at_k")
    >>> recall.compute(predictions=[[0.7, 0.2, 0.1]], references=[[1, 0, 1]], k=[0.5])
    {'recall@50%': 0.5, 'interviews_scored': 1, 'interviews_skipped': 0}
"""


_CITATION = """
@article{mhim2025,
  title={Explainable Depression Detection using Masked Hard Instance Mining},
  journal={arXiv preprint arXiv:2505.24609},
  year={2025}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RecallAtK(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.List(datasets.Value("float64")),
                "references": datasets.List(datasets.Value("int64")),
            }),
        )

    def _compute(self, predictions, references, k=(0.1, 0.3, 0.5)):
        ks = [k] if isinstance(k, (int, float)) else list(k)
        for value in ks:
            if not 0 < value <= 1:
                raise ValueError(f"`k` must be a fraction in (0, 1], got {value}.")
        recalls = {value: [] for value in ks}
        scored = skipped = 0
        for weights, labels in zip(predictions, references):
            weights, labels = np.asarray(weights, dtype=np.float64), np.asarray(labels)
            if len(weights) != len(labels):
                raise ValueError(f"An interview has {len(weights)} attention weights but {len(labels)} importance "
                                 "labels.")
            if len(labels) == 0 or (labels < 0).any() or not (labels == 1).any():
                skipped += 1
                continue
            scored += 1
            order = np.argsort(-weights, kind="stable")
            for value in ks:
                top = order[: math.ceil(value * len(weights))]
                recalls[value].append(float(labels[top].sum() / (labels == 1).sum()))
        out = {
            f"recall@{int(round(value * 100))}%": (float(np.mean(r)) if r else float("nan"))
            for value, r in recalls.items()
        }
        out["interviews_scored"], out["interviews_skipped"] = scored, skipped
        return out
