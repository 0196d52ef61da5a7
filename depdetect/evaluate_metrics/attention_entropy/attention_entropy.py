"""Attention entropy over an interview's turns, as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/attention_entropy")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Mean over interviews of the entropy (natural log) of the attention a model puts on the interview's turns, as used
by the MHIM paper (arXiv 2505.24609) to show that masked hard instance mining spreads attention. Turns with zero
attention (padding, masked turns) are skipped and the rest renormalised. An interview of n turns scores between 0
(all attention on one turn) and log(n) (uniform attention); compare models on the same interviews only, since the
ceiling grows with the number of turns.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per interview, the attention of each turn.
Returns:
    attention_entropy (`float`): mean entropy in nats.
    max_entropy (`float`): mean of log(n), the value uniform attention would give on the same interviews.
Examples:
    >>> entropy = evaluate.load("depdetect/evaluate_metrics/attention_entropy")
    >>> entropy.compute(predictions=[[0.5, 0.5], [1.0, 0.0]])
    {'attention_entropy': 0.34657359027997264, 'max_entropy': 0.34657359027997264}
"""

_CITATION = """
@article{mhim2025,
  title={Explainable Depression Detection using Masked Hard Instance Mining},
  journal={arXiv preprint arXiv:2505.24609},
  year={2025}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AttentionEntropy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.List(datasets.Value("float64"))}),
        )

    def _compute(self, predictions):
        values, ceilings = [], []
        for weights in predictions:
            w = np.asarray(weights, dtype=np.float64)
            w = w[w > 0]
            if w.size == 0:
                continue
            w = w / w.sum()
            values.append(float(-(w * np.log(w)).sum()))
            ceilings.append(float(np.log(w.size)))
        if not values:
            raise ValueError("No interview has attention to score.")
        return {"attention_entropy": float(np.mean(values)), "max_entropy": float(np.mean(ceilings))}
