"""RMSE and MAE of predicted severity scores, as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/rmse_mae")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Root mean squared error and mean absolute error between predicted and reference severity scores (e.g. PHQ-8,
0-24). Both are in the score's own units: an MAE of 4 on PHQ-8 means predictions are off by 4 points on average,
close to the width of one severity band (5 points). RMSE weighs large misses more than MAE; a gap between the two
means a few interviews are badly wrong. Compare both with the error of always predicting the training mean.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): predicted scores.
    references (`list` of `float`): reference scores, same order.
Returns:
    rmse (`float`), mae (`float`), in the scores' units.
Examples:
    >>> rmse_mae = evaluate.load("depdetect/evaluate_metrics/rmse_mae")
    >>> rmse_mae.compute(predictions=[2.0, 4.0], references=[1.0, 1.0])
    {'rmse': 2.23606797749979, 'mae': 2.0}
"""


_CITATION = """
@article{chai2014rmse,
  title={Root mean square error ({RMSE}) or mean absolute error ({MAE})? -- Arguments against avoiding {RMSE} in
         the literature},
  author={Chai, Tianfeng and Draxler, Roland R.},
  journal={Geoscientific Model Development},
  volume={7},
  number={3},
  pages={1247--1250},
  year={2014}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RmseMae(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references):
        errors = np.asarray(predictions, dtype=np.float64) - np.asarray(references, dtype=np.float64)
        if errors.size == 0:
            raise ValueError("No scores to compare.")
        return {"rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(np.abs(errors)))}
