"""depdetect's own metrics are evaluate modules: they load offline with evaluate.load(path) in a fresh process,
give the documented values, and are what training reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from depdetect.metrics import EVALUATE_METRICS_DIR, attention_entropy, classification_metrics, load_metric, recall_at_k

CASES = {
    "auprc": ({"predictions": [0.9, 0.2, 0.7, 0.1], "references": [1, 0, 1, 0]}, {"auprc": 1.0, "prevalence": 0.5}),
    "rmse_mae": ({"predictions": [2.0, 4.0], "references": [1.0, 1.0]}, {"rmse": 5**0.5, "mae": 2.0}),
    "attention_entropy": (
        {"predictions": [[0.5, 0.5], [1.0, 0.0]]},
        {"attention_entropy": np.log(2) / 2, "max_entropy": np.log(2) / 2},
    ),
    "calibration": ({"predictions": [0.9, 0.9, 0.1, 0.1], "references": [1, 0, 0, 0]},
                    {"ece": 0.25, "top_label_ece": 0.15, "brier": 0.21}),
    "conformal_coverage": ({"predictions": [[0.0, 2.0], [1.0, 3.0]], "references": [1.0, 5.0]},
                           {"coverage": 0.5, "mean_width": 2.0}),
    # hand-computed: a TP after 3 writings costs lc_5(3) = 1 - 1/(1 + e^(3-5)), a FN 1, a FP c_fp = 2/4, a TN 0
    "erde": ({"predictions": [1, 0, 1, 0], "delays": [3, 9, 2, 7], "references": [1, 1, 0, 0], "o": [5, 50]},
             {"erde_5": 100 * (1 - 1 / (1 + np.exp(3 - 5)) + 1.5) / 4, "erde_50": 100 * (1 - 1 / (1 + np.exp(3 - 50))
                                                                                          + 1.5) / 4, "c_fp": 0.5}),
    # 2 TP (k = 1, 11), 1 FP, 1 FN: F1 = 2/3; p = ln 3 / 19; speed = 1 - median(0, penalty(11))
    "f_latency": ({"predictions": [1, 1, 1, 0, 0], "delays": [1, 11, 4, 20, 30], "references": [1, 1, 0, 1, 0],
                   "median_posts": 20},
                  {"f_latency": 2 / 3 * (1 - (-1 + 2 / (1 + np.exp(-np.log(3) / 19 * 10))) / 2), "latency_tp": 6.0,
                   "p": np.log(3) / 19}),
    # the documented example: drops 0.7/0.8 and 0.1/0.3 per k (removed), 0/-0.1 and 0.2/0 (kept)
    "eraser_faithfulness": ({"predictions": [0.9, 0.8], "removed": [[0.2, 0.1], [0.7, 0.5]],
                             "kept": [[0.9, 0.9], [0.6, 0.8]]},
                            {"aopc_comprehensiveness": 0.475, "aopc_sufficiency": 0.05}),
    "recall_at_k": (
        {"predictions": [[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]], "references": [[1, 0, 1], [-1, 0, 1]], "k": [0.5]},
        {"recall@50%": 0.5, "interviews_scored": 1, "interviews_skipped": 1},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_module_loads_offline_in_a_fresh_process_and_gives_the_documented_value(name, tmp_path):
    inputs, expected = CASES[name]
    script = (
        "import evaluate, json, sys\n"
        "metric = evaluate.load(sys.argv[1])\n"
        "print(json.dumps(metric.compute(**json.loads(sys.argv[2]))))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", script, str(EVALUATE_METRICS_DIR / name), json.dumps(inputs)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {k: result[k] for k in expected} == pytest.approx(expected)


def test_modules_describe_how_to_read_them():
    for name in CASES:
        info = load_metric(name).info
        assert len(info.description) > 200 and "Returns" in info.inputs_description


def test_training_metrics_are_computed_by_the_modules():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 40)
    p = np.clip(labels * 0.4 + rng.random(40) * 0.6, 0, 1)
    ours = classification_metrics(np.stack([1 - p, p], axis=1), labels)["auprc"]
    assert ours == load_metric("auprc").compute(predictions=p.tolist(), references=labels.tolist())["auprc"]
    attention = [rng.dirichlet(np.ones(n)) for n in (3, 5, 8)]
    assert attention_entropy(attention) == pytest.approx(
        load_metric("attention_entropy").compute(predictions=[a.tolist() for a in attention])["attention_entropy"])
    assert recall_at_k(attention, [np.array([1, 0, 0]), np.array([0, 1, 0, 0, 1]), np.zeros(8)], 0.5)[1:] == (2, 1)


def test_unknown_metric_names_list_the_available_ones():
    with pytest.raises(ValueError, match="available: .*auprc"):
        load_metric("accuracy")


def test_bad_inputs_are_refused_by_the_modules():
    with pytest.raises(ValueError, match="binary references"):
        load_metric("auprc").compute(predictions=[0.1, 0.2], references=[0, 2])
    with pytest.raises(ValueError, match="fraction in"):
        load_metric("recall_at_k").compute(predictions=[[0.5, 0.5]], references=[[1, 0]], k=[1.5])


def test_the_eraser_module_agrees_with_depdetects_faithfulness_functions():
    from depdetect.faithfulness import FRACTIONS, one_at_a_time, record_faithfulness, top_units

    rng = np.random.default_rng(1)
    weights = [rng.exponential(size=9) for _ in range(5)]
    importances = [rng.random(9) for _ in range(5)]
    full, removed, kept, ours = [], [], [], []
    for w, importance in zip(weights, importances):
        def score(units, w=w):
            return float(np.tanh(sum(w[i] for i in units)))

        full.append(score(range(9)))
        tops = [top_units(importance, k) for k in FRACTIONS]
        removed.append([score([i for i in range(9) if i not in top]) for top in tops])
        kept.append([score(top) for top in tops])
        ours.append(record_faithfulness(one_at_a_time(score), {"m": importance})["m"])
    result = load_metric("eraser_faithfulness").compute(predictions=full, removed=removed, kept=kept)
    assert result["aopc_comprehensiveness"] == pytest.approx(np.mean([r["aopc_comprehensiveness"] for r in ours]))
    assert result["sufficiency"] == pytest.approx([np.mean([r[f"sufficiency@{k:g}"] for r in ours])
                                                   for k in FRACTIONS])


SECTIONS = ("# Metric Card for", "## Metric Description", "## How to Use", "### Inputs", "### Output Values",
            "### Examples", "## Limitations and Bias", "## Citation", "## Further References")


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_module_has_a_metric_card_in_evaluates_layout_that_says_what_the_module_says(name):
    import re

    card = (EVALUATE_METRICS_DIR / name / "README.md").read_text()
    source = (EVALUATE_METRICS_DIR / name / f"{name}.py").read_text()
    assert card.startswith("---\n") and "\ntags:\n- evaluate\n- metric\n" in card.split("\n---\n")[0]
    positions = [card.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions), dict(zip(SECTIONS, positions))

    def block(variable: str) -> str:
        found = re.search(variable + r' = """\n?(.*?)"""', source, re.S)
        assert found, f"{name}.py has no {variable}"
        return " ".join(found.group(1).split())

    assert block("_DESCRIPTION") in " ".join(card.split())
    citation = block("_CITATION")
    assert citation.startswith("@") and citation in " ".join(card.split())
    limitations = card.split("## Limitations and Bias")[1].split("## Citation")[0]
    assert limitations.count("\n- ") >= 2
