"""ERDE_o, the early risk detection error of Losada and Crestani (2016), as an evaluate module (numpy only).

Load it offline with `evaluate.load("path/to/erde")`. `erde_costs` is the formula itself; depdetect's library
(`depdetect.early.metrics`) calls it from here, so the formula is written once.
"""

import math

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
ERDE_o (Losada and Crestani 2016, the CLEF eRisk labs' early risk detection error) scores a decision about each
user together with how many of the user's writings the system read before deciding (k). Per user the cost is
c_fp for a false positive, c_fn for a false negative, 0 for a true negative, and lc_o(k) * c_tp for a true positive,
where lc_o(k) = 1 - 1 / (1 + e^(k - o)) grows from 0 to 1 around k = o: a correct alarm raised after many more than
o writings costs almost as much as a missed one. c_fn = c_tp = 1 and c_fp = the share of positive users in the
collection (the eRisk convention) unless given. ERDE_o is the mean cost over users, reported x100 (a percentage,
as in the eRisk overview papers); lower is better, 0 is perfect. o = 5 rewards alarms within the first writings,
o = 50 is lenient.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): the decision per user, 1 (at risk) or 0.
    delays (`list` of `int`): per user, the number of writings read when the decision was taken (k >= 1).
    references (`list` of `int`): the true label per user, 1 or 0.
    o (`int`, `float` or `list`): the deadline(s) o; default (5, 50).
    c_fp (`float`): cost of a false positive; default: the share of positive users in `references`.
    c_fn (`float`): cost of a false negative; default 1.
    c_tp (`float`): cost of a true positive decided at once; default 1.
Returns:
    erde_O (`float`) for each o: the mean cost over users x100; c_fp (`float`): the false-positive cost used.
Examples:
    >>> erde = evaluate.load("depdetect/evaluate_metrics/erde")
    >>> erde.compute(predictions=[1, 0], delays=[5, 10], references=[1, 0], o=[5])
    {'erde_5': 25.0, 'c_fp': 0.5}
"""

_CITATION = """
@inproceedings{losada2016test,
  title={A test collection for research on depression and language use},
  author={Losada, David E. and Crestani, Fabio},
  booktitle={CLEF 2016, LNCS 9822},
  pages={28--39},
  year={2016}
}
"""


def latency_cost(delays, o):
    """lc_o(k) = 1 - 1 / (1 + e^(k - o)), elementwise (computed without overflow for large k - o)."""
    k = np.asarray(delays, dtype=np.float64)
    return 1.0 - 0.5 * (1.0 - np.tanh((k - o) / 2.0))


def check_decisions(predictions, delays, references):
    """(decisions, delays, labels) as arrays, with a ValueError saying what is wrong."""
    decisions = np.asarray(predictions)
    labels = np.asarray(references)
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


def erde_costs(predictions, delays, references, o, c_fp=None, c_fn=1.0, c_tp=1.0):
    """The cost of each user's decision (not x100) and the c_fp used."""
    decisions, k, labels = check_decisions(predictions, delays, references)
    if c_fp is None:
        c_fp = float(labels.mean())
    if o <= 0 or not math.isfinite(o):
        raise ValueError(f"o must be a positive number of writings, got {o}.")
    cost = np.zeros(labels.size, dtype=np.float64)
    cost[(decisions == 1) & (labels == 0)] = c_fp
    cost[(decisions == 0) & (labels == 1)] = c_fn
    tp = (decisions == 1) & (labels == 1)
    cost[tp] = latency_cost(k[tp], o) * c_tp
    return cost, float(c_fp)


def erde_name(o):
    return f"erde_{int(o) if float(o).is_integer() else o}"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Erde(evaluate.Metric):
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
            reference_urls=["https://doi.org/10.1007/978-3-319-44564-9_3"],
        )

    def _compute(self, predictions, delays, references, o=(5, 50), c_fp=None, c_fn=1.0, c_tp=1.0):
        deadlines = [o] if isinstance(o, (int, float)) else list(o)
        out = {}
        for value in deadlines:
            cost, used = erde_costs(predictions, delays, references, value, c_fp, c_fn, c_tp)
            out[erde_name(value)] = float(100.0 * cost.mean())
        out["c_fp"] = used
        return out
