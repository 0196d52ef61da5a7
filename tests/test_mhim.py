from __future__ import annotations

import math
import warnings

import pytest
import torch

from depdetect.dual_encoder.mhim import HardInstanceMasker, ema_update, resolve_count, select_hard_instances


def test_resolve_count_takes_counts_and_ratios():
    assert resolve_count(2, 10, "t") == 2
    assert resolve_count(2.0, 10, "t") == 2
    assert resolve_count(0.25, 10, "t") == 3  # ceil(2.5)
    assert resolve_count(0.1, 5, "t") == 1
    with pytest.raises(ValueError, match="`t`"):
        resolve_count(-1, 10, "t")
    with pytest.raises(ValueError, match="ratio must be < 1"):
        resolve_count(1.5, 10, "t")


ATTENTION = torch.tensor([[0.05, 0.40, 0.10, 0.30, 0.15, 0.0]])  # 5 real turns, 1 padding
TURNS = torch.tensor([[1, 1, 1, 1, 1, 0]])


def test_masks_t_of_the_top_2t_and_the_b_lowest():
    seen = set()
    for seed in range(40):
        masked = select_hard_instances(ATTENTION, TURNS, 1, 1, torch.Generator().manual_seed(seed))[0]
        chosen = set(masked.nonzero().flatten().tolist())
        assert len(chosen) == 2 and 0 in chosen  # turn 0 has the lowest attention
        top = chosen - {0}
        assert top <= {1, 3}  # one of the top r = 2 turns (0.40 and 0.30)
        seen |= top
        assert not masked[5]  # padding is never masked
    assert seen == {1, 3}  # the top turn is drawn at random, not always the first


def test_ratios_are_resolved_per_interview():
    masked = select_hard_instances(ATTENTION, TURNS, 0.2, 0.2, torch.Generator().manual_seed(0))  # 1 + 1 of 5
    assert int(masked.sum()) == 2


def test_too_many_masked_turns_are_clamped_with_a_warning_never_an_empty_interview():
    attention = torch.tensor([[0.6, 0.4, 0.0], [1.0, 0.0, 0.0]])
    turns = torch.tensor([[1, 1, 0], [1, 0, 0]])
    with pytest.warns(UserWarning, match="too short"):
        masked = select_hard_instances(attention, turns, 2, 2, torch.Generator().manual_seed(0))
    assert masked[0].sum() == 1 and masked[1].sum() == 0
    assert ((turns.bool() & ~masked).sum(1) >= 1).all()


def test_no_masks_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not select_hard_instances(ATTENTION, TURNS, 0, 0).any()


def test_ema_update_moves_the_teacher_towards_the_student():
    teacher, student = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        teacher.weight.fill_(1.0)
        student.weight.fill_(3.0)
    ema_update(teacher, student, decay=0.75)
    assert math.isclose(teacher.weight.item(), 0.75 * 1.0 + 0.25 * 3.0)


class FixedAttention(torch.nn.Module):
    """A donor whose attention is the batch's first token id per turn (enough to test the masker)."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, turn_mask, **kwargs):
        scores = input_ids[:, :, 0].float().masked_fill(~turn_mask.bool(), float("-inf"))
        return type("Out", (), {"attentions": scores.softmax(-1)})()


def test_masker_caches_the_donor_once_and_draws_the_same_masks_for_the_same_step():
    ids = torch.tensor([[[5], [9], [1], [7]], [[3], [8], [0], [0]]])
    batch = {"input_ids": ids, "turn_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]),
             "labels": torch.tensor([1.0, 2.0]), "index": torch.tensor([0, 1]), "importance": torch.full((2, 4), -1)}
    masker = HardInstanceMasker(FixedAttention(), mask_top=1, mask_bottom=1, seed=3)
    masker.cache_attention([batch])
    assert set(masker.cache) == {0, 1} and len(masker.cache[1]) == 2
    with pytest.warns(UserWarning, match="too short"):  # interview 1 has 2 turns: only one can be masked
        first = masker(batch, step=7)
    assert "index" not in first and "importance" not in first
    assert first["instance_mask"][0, 2]  # turn 2 of interview 0 has the lowest attention
    with pytest.warns(UserWarning):
        again = masker(batch, step=7)
    assert torch.equal(first["instance_mask"], again["instance_mask"])
