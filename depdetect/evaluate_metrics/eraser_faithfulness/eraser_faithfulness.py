"""ERASER comprehensiveness and sufficiency of an explanation, and their AOPC, as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/eraser_faithfulness")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Does a prediction depend on what its explanation points at? For each example, the model's output (the probability
of the class it predicts on the whole input, or a severity) is taken three ways: with every unit (word, turn, post),
with the explanation's top k% of units removed, and with only those units kept. Comprehensiveness is the mean drop
when they are removed (higher: the explanation found what the output rests on); sufficiency is the mean drop when
only they are kept (lower: they suffice). Given at several k (e.g. 10/20/50%), AOPC is their mean over k (the area
over the perturbation curve). Compute the same for as many units chosen at random: an explanation is worth reading
only where it beats random. How units are removed matters: deleting them is what depdetect does (a [MASK] or [PAD]
in their place is still input the model reads). `absolute=True` measures the size of each change, for outputs such
as a severity that removing evidence can move either way. DeYoung et al. 2020; depdetect.faithfulness computes the
inputs from a model and adds bootstrap intervals.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): per example, the output with every unit.
    removed (`list` of `list` of `float`): per example, the output with the top k% units removed, one per k.
    kept (`list` of `list` of `float`): per example, the output with only the top k% units, one per k (same k's).
    absolute (`bool`, default False): use |change| instead of the signed drop.
Returns:
    comprehensiveness (`list` of `float`): the mean drop per k when the top units are removed.
    sufficiency (`list` of `float`): the mean drop per k when only the top units are kept.
    aopc_comprehensiveness (`float`), aopc_sufficiency (`float`): their means over k.
Examples:
    >>> eraser = evaluate.load("depdetect/evaluate_metrics/eraser_faithfulness")
    >>> eraser.compute(predictions=[0.9, 0.8], removed=[[0.2, 0.1], [0.7, 0.5]], kept=[[0.9, 0.9], [0.6, 0.8]])
    {'comprehensiveness': [0.4, 0.55], 'sufficiency': [0.1, 0.0], 'aopc_comprehensiveness': 0.475,
     'aopc_sufficiency': 0.05}
"""

_CITATION = """
@inproceedings{deyoung2020eraser,
  title={{ERASER}: A Benchmark to Evaluate Rationalized {NLP} Models},
  author={DeYoung, Jay and Jain, Sarthak and Rajani, Nazneen Fatema and Lehman, Eric and Xiong, Caiming and
          Socher, Richard and Wallace, Byron C.},
  booktitle={Proceedings of ACL},
  year={2020}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EraserFaithfulness(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("float64"),
                                        "removed": datasets.Sequence(datasets.Value("float64")),
                                        "kept": datasets.Sequence(datasets.Value("float64"))}),
        )

    def _compute(self, predictions, removed, kept, absolute=False):
        full = np.asarray(predictions, dtype=np.float64)
        if full.size == 0:
            raise ValueError("No examples to score.")
        if len({len(r) for r in removed} | {len(k) for k in kept}) != 1:
            raise ValueError("`removed` and `kept` need one output per k, the same k's for every example.")
        drops = {name: full[:, None] - np.asarray(values, dtype=np.float64)
                 for name, values in (("comprehensiveness", removed), ("sufficiency", kept))}
        out = {}
        for name, drop in drops.items():
            per_k = (np.abs(drop) if absolute else drop).mean(axis=0)
            out[name] = [float(v) for v in per_k]
            out[f"aopc_{name}"] = float(per_k.mean())
        return {k: out[k] for k in ("comprehensiveness", "sufficiency", "aopc_comprehensiveness", "aopc_sufficiency")}
