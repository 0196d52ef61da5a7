from __future__ import annotations

import math

import numpy as np
import pytest

from depdetect.metrics import classification_metrics


def test_binary_metrics_match_hand_computation():
    # predictions: 1, 1, 0, 0 ; labels: 1, 0, 1, 0 -> TP 1, FP 1, FN 1, TN 1
    probs = np.array([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3], [0.8, 0.2]])
    out = classification_metrics(probs, np.array([1, 0, 1, 0]))
    assert out["accuracy"] == 0.5 and out["precision"] == 0.5 and out["recall"] == 0.5 and out["f1"] == 0.5
    # positive scores .9 and .3 vs negative .6 and .2: 3 of 4 pairs ranked right
    assert math.isclose(out["auroc"], 0.75)
    # ranking .9(+) .6(-) .3(+) .2(-): AP = (1/1 + 2/3) / 2
    assert math.isclose(out["auprc"], (1 + 2 / 3) / 2)


def test_single_class_labels_give_nan_ranking_metrics_with_a_warning():
    with pytest.warns(UserWarning, match="one class"):
        out = classification_metrics(np.array([[0.2, 0.8], [0.9, 0.1]]), np.array([1, 1]))
    assert math.isnan(out["auroc"]) and math.isnan(out["auprc"]) and out["accuracy"] == 0.5


def test_multiclass_metrics_use_macro_averages():
    probs = np.eye(3)[[0, 1, 2, 2]]
    out = classification_metrics(probs, np.array([0, 1, 2, 1]))
    assert out["accuracy"] == 0.75
    assert math.isclose(out["recall"], (1 + 0.5 + 1) / 3)


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        classification_metrics(np.ones((3, 2)), np.ones(2))


def test_rmse_and_mae_by_hand():
    from depdetect.metrics import mae, rmse

    assert math.isclose(rmse([1, 2, 3], [1, 4, 3]), math.sqrt(4 / 3))
    assert math.isclose(mae([1, 2, 3], [2, 4, 3]), 1.0)


def test_attention_entropy_is_log_n_for_uniform_attention_and_skips_masked_turns():
    from depdetect.metrics import attention_entropy

    assert math.isclose(attention_entropy([np.full(4, 0.25)]), math.log(4))
    # a masked turn (0) is left out; the rest renormalised: [0.5, 0.5] -> log 2; mean with a one-hot (0)
    assert math.isclose(attention_entropy([np.array([0.5, 0.0, 0.5]), np.array([1.0, 0.0])]), math.log(2) / 2)


def test_recall_at_k_by_hand_and_counts_skipped_interviews():
    from depdetect.metrics import recall_at_k

    attention = [np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.1, 0.9]), np.array([0.5, 0.5])]
    importance = [np.array([1, 0, 1, 0]), np.array([-1, 1]), np.array([0, 0])]
    # k = 50% of 4 turns: top 2 are turns 0 and 1; important are 0 and 2 -> recall 1/2
    value, used, skipped = recall_at_k(attention, importance, 0.5)
    assert (value, used, skipped) == (0.5, 1, 2)
    value, _, _ = recall_at_k(attention[:1], importance[:1], 0.75)  # top 3 of 4 -> 2/2
    assert value == 1.0
    with pytest.raises(ValueError, match="`k`"):
        recall_at_k(attention, importance, 0)
