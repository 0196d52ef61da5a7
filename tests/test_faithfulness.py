"""The ERASER measures (issue 24, item 2, the functions first): comprehensiveness and sufficiency of an explanation
against random units, on scorers whose dependence on the units is known."""

from __future__ import annotations

import numpy as np
import pytest

from depdetect.faithfulness import record_faithfulness, summarize_faithfulness, top_units


def additive(weights):
    """A model whose output is the sum of the weights of the units present (what an explanation should find)."""
    return lambda kept: float(sum(weights[i] for i in kept))


def test_top_units_take_at_least_one_and_break_ties_by_position():
    assert top_units([0.1, 0.9, 0.5, 0.9], 0.5) == [1, 3]
    assert top_units([0.3, 0.2], 0.1) == [0]
    with pytest.raises(ValueError, match="no units"):
        top_units([], 0.2)
    with pytest.raises(ValueError, match="fraction"):
        top_units([1.0], 0)


def test_a_faithful_explanation_beats_random_and_a_reversed_one_does_not():
    weights = np.array([5.0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0])
    faithful = record_faithfulness(additive(weights), weights, random_draws=20)
    assert faithful["explanation"]["comprehensiveness@0.1"] == pytest.approx(5.0)  # the top unit removed
    assert faithful["explanation"]["sufficiency@0.1"] == pytest.approx(1.0)  # only the top unit kept: 6 - 5
    assert faithful["explanation"]["aopc_comprehensiveness"] > faithful["random"]["aopc_comprehensiveness"]
    assert faithful["explanation"]["aopc_sufficiency"] < faithful["random"]["aopc_sufficiency"]
    reversed_ = record_faithfulness(additive(weights), -weights, random_draws=20)
    assert reversed_["explanation"]["aopc_comprehensiveness"] < reversed_["random"]["aopc_comprehensiveness"]


def test_a_model_that_ignores_its_units_gives_zero_everywhere():
    result = record_faithfulness(lambda kept: 0.7, [0.2, 0.5, 0.1, 0.9])
    assert all(v == 0 for side in result.values() for v in side.values())


def test_the_summary_gives_means_with_intervals_for_explanation_and_random():
    rng = np.random.default_rng(0)
    records = []
    for _ in range(30):
        weights = rng.exponential(size=12)
        records.append(record_faithfulness(additive(weights), weights, rng=rng))
    summary = summarize_faithfulness(records, resamples=200)
    comp, rand = summary["explanation"]["aopc_comprehensiveness"], summary["random"]["aopc_comprehensiveness"]
    assert comp["interval"][0] <= comp["value"] <= comp["interval"][1]
    assert comp["interval"][0] > rand["interval"][1]  # clearly above random for an additive model
    with pytest.raises(ValueError, match="No records"):
        summarize_faithfulness([])
