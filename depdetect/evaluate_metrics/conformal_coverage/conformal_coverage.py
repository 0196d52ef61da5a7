"""Empirical coverage and mean width of prediction intervals (e.g. split-conformal intervals of severity scores),
as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/conformal_coverage")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Whether prediction intervals hold what they promise. Coverage is the share of references inside their interval
(bounds included): a 90% split-conformal interval should cover about 90% of new examples drawn like the
calibration examples; much less means the data shifted. Mean width is the average interval length in the score's
units (e.g. PHQ-8 points): narrower intervals at the same coverage are more useful.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `[low, high]`): one interval per example, low <= high.
    references (`list` of `float`): the true values, same order.
Returns:
    coverage (`float`): share of references inside their interval.
    mean_width (`float`): mean of high - low.
Examples:
    >>> coverage = evaluate.load("depdetect/evaluate_metrics/conformal_coverage")
    >>> coverage.compute(predictions=[[0.0, 2.0], [1.0, 3.0]], references=[1.0, 5.0])
    {'coverage': 0.5, 'mean_width': 2.0}
"""

_CITATION = """
@article{lei2018distribution,
  title={Distribution-Free Predictive Inference for Regression},
  author={Lei, Jing and G'Sell, Max and Rinaldo, Alessandro and Tibshirani, Ryan J. and Wasserman, Larry},
  journal={Journal of the American Statistical Association},
  year={2018}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ConformalCoverage(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references):
        y = np.asarray(references, dtype=np.float64)
        if y.size == 0:
            raise ValueError("No examples to score.")
        if any(len(pair) != 2 for pair in predictions):
            raise ValueError("Each prediction must be an interval [low, high].")
        bounds = np.asarray(predictions, dtype=np.float64)
        low, high = bounds[:, 0], bounds[:, 1]
        if (high < low).any():
            raise ValueError("Every interval needs low <= high.")
        inside = (y >= low) & (y <= high)
        return {"coverage": float(inside.mean()), "mean_width": float(np.mean(high - low))}
