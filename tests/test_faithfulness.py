"""The ERASER measures (issue 24, item 2): comprehensiveness and sufficiency of explanations against random units,
on scorers whose dependence on the units is known."""

from __future__ import annotations

import numpy as np
import pytest

from depdetect.faithfulness import one_at_a_time, record_faithfulness, summarize_faithfulness, top_units


def additive(weights):
    """A model whose output is the sum of the weights of the units present (what an explanation should find)."""
    return one_at_a_time(lambda kept: float(sum(weights[i] for i in kept)))


def test_top_units_take_at_least_one_leave_at_least_one_and_break_ties_by_position():
    assert top_units([0.1, 0.9, 0.5, 0.9], 0.5) == [1, 3]
    assert top_units([0.3, 0.2], 0.1) == [0]
    assert top_units([0.3, 0.2, 0.1], 1.0) == [0, 1]  # one unit always stays
    assert top_units([0.3], 0.5) == [0]
    with pytest.raises(ValueError, match="no units"):
        top_units([], 0.2)
    with pytest.raises(ValueError, match="fraction"):
        top_units([1.0], 0)


def test_a_faithful_explanation_beats_random_and_a_reversed_one_does_not():
    weights = np.array([5.0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0])
    result = record_faithfulness(additive(weights), {"faithful": weights, "reversed": -weights}, random_draws=20)
    faithful, reversed_, random_ = result["faithful"], result["reversed"], result["random"]
    assert faithful["comprehensiveness@0.1"] == pytest.approx(5.0)  # the top unit removed
    assert faithful["sufficiency@0.1"] == pytest.approx(1.0)  # only the top unit kept: 6 - 5
    assert faithful["aopc_comprehensiveness"] > random_["aopc_comprehensiveness"]
    assert faithful["aopc_sufficiency"] < random_["aopc_sufficiency"]
    assert reversed_["aopc_comprehensiveness"] < random_["aopc_comprehensiveness"]
    assert set(faithful) == {f"{m}@{k}" for m in ("comprehensiveness", "sufficiency") for k in (0.1, 0.2, 0.5)} | {
        "aopc_comprehensiveness", "aopc_sufficiency"}


def test_a_model_reading_one_unit_is_found_by_an_explanation_pointing_at_it():
    # the output is 1 when unit 3 is present: comprehensiveness 1 at every k, sufficiency 0
    result = record_faithfulness(one_at_a_time(lambda kept: float(3 in kept)),
                                 {"right": [0, 0, 0, 1, 0, 0, 0, 0], "wrong": [1, 1, 1, 0, 1, 1, 1, 1]})
    assert result["right"]["aopc_comprehensiveness"] == 1 and result["right"]["aopc_sufficiency"] == 0
    assert result["wrong"]["aopc_comprehensiveness"] == 0 and result["wrong"]["aopc_sufficiency"] == 1


def test_absolute_changes_count_a_severity_moved_either_way():
    # removing unit 0 raises the output: signed comprehensiveness is negative, its size is what `absolute` measures
    score = one_at_a_time(lambda kept: 10.0 - 4.0 * (0 in kept))
    signed = record_faithfulness(score, {"m": [1, 0, 0, 0]}, fractions=(0.25,))
    sized = record_faithfulness(score, {"m": [1, 0, 0, 0]}, fractions=(0.25,), absolute=True)
    assert signed["m"]["comprehensiveness@0.25"] == -4 and sized["m"]["comprehensiveness@0.25"] == 4


def test_a_model_that_ignores_its_units_gives_zero_everywhere():
    result = record_faithfulness(one_at_a_time(lambda kept: 0.7), {"m": [0.2, 0.5, 0.1, 0.9]})
    assert all(v == 0 for side in result.values() for v in side.values())


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 2 units"):
        record_faithfulness(one_at_a_time(lambda kept: 0.0), {"m": [1.0]})
    with pytest.raises(ValueError, match="one weight per unit"):
        record_faithfulness(one_at_a_time(lambda kept: 0.0), {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="returned 1 numbers"):
        record_faithfulness(lambda subsets: [0.0], {"m": [1.0, 2.0]})


def test_the_summary_gives_means_with_intervals_and_the_paired_difference_from_random():
    rng = np.random.default_rng(0)
    records = []
    for _ in range(30):
        weights = rng.exponential(size=12)
        records.append(record_faithfulness(additive(weights), {"faithful": weights, "noise": rng.random(12)},
                                           rng=rng))
    summary = summarize_faithfulness(records, resamples=200)
    comp, rand = summary["faithful"]["aopc_comprehensiveness"], summary["random"]["aopc_comprehensiveness"]
    assert comp["interval"][0] <= comp["value"] <= comp["interval"][1]
    assert comp["vs_random"]["value"] == pytest.approx(comp["value"] - rand["value"])
    assert comp["vs_random"]["interval"][0] > 0  # clearly above random for an additive model
    noise = summary["noise"]["aopc_comprehensiveness"]["vs_random"]["interval"]
    assert noise[0] < 0 < noise[1]  # random weights are no better than random units
    assert "vs_random" not in summary["random"]["aopc_comprehensiveness"]
    with pytest.raises(ValueError, match="No records"):
        summarize_faithfulness([])


def test_versions_two_methods_agree_on_are_scored_once():
    calls = []

    def score(subsets):
        calls.extend(tuple(kept) for kept in subsets)
        return [float(len(kept)) for kept in subsets]

    record_faithfulness(score, {"a": [3, 2, 1, 0], "b": [30, 20, 10, 0]}, random_draws=1)
    assert len(calls) == len(set(calls))  # no version of the record is scored twice
