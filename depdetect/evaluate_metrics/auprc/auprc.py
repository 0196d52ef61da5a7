"""AUPRC: area under the precision-recall curve of the positive class (average precision), as an evaluate module.

Load it offline with `evaluate.load("path/to/auprc")`. Self-contained: numpy and scikit-learn only.
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import average_precision_score

_DESCRIPTION = """
AUPRC (average precision) of the positive class: the mean precision over the recall levels reached when the
examples are ranked by their score. It is the metric to read first when positives are rare (depression detection
at a realistic prevalence): a random ranking scores about the prevalence (0.05 at 1:19), a perfect one 1.0. Unlike
AUROC it is not inflated by the many easy negatives.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): score or probability of the positive class, one per example.
    references (`list` of `int`): 1 for positive, 0 for negative.
Returns:
    auprc (`float`): average precision in [0, 1]; NaN when the references hold one class only.
    prevalence (`float`): share of positives, the score of a random ranking.
Examples:
    >>> auprc = evaluate.load("depdetect/evaluate_metrics/auprc")
    >>> auprc.compute(predictions=[0.9, 0.2, 0.7, 0.1], references=[1, 0, 1, 0])
    {'auprc': 1.0, 'prevalence': 0.5}
"""

_CITATION = """
@inproceedings{davis2006relationship,
  title={The relationship between Precision-Recall and ROC curves},
  author={Davis, Jesse and Goadrich, Mark},
  booktitle={ICML},
  year={2006}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Auprc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.average_precision_score.html"
            ],
        )

    def _compute(self, predictions, references):
        references = np.asarray(references)
        if not np.isin(references, (0, 1)).all():
            raise ValueError("AUPRC needs binary references (0/1).")
        prevalence = float(references.mean()) if references.size else float("nan")
        if len(np.unique(references)) < 2:
            return {"auprc": float("nan"), "prevalence": prevalence}
        return {"auprc": float(average_precision_score(references, np.asarray(predictions))), "prevalence": prevalence}
