from __future__ import annotations

import pytest
import torch

from depdetect import awvti, nas

# Attention from the [CLS] query (row 0) in 2 layers x 2 heads over 3 tokens; rows 1-2 must be ignored.
CLS_ROWS = [
    [[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]],  # layer 0: head 0, head 1
    [[0.1, 0.6, 0.3], [0.4, 0.4, 0.2]],  # layer 1
]


def attentions() -> tuple[torch.Tensor, ...]:
    layers = []
    for heads in CLS_ROWS:
        a = torch.full((1, 2, 3, 3), 9.0)  # (B, H, T, T), non-CLS rows hold junk
        a[0, :, 0, :] = torch.tensor(heads)
        layers.append(a)
    return tuple(layers)


def test_awvti_sums_cls_attention_over_layers_and_heads():
    # token 0: .5+.2+.1+.4, token 1: .3+.2+.6+.4, token 2: .2+.6+.3+.2
    out = awvti(attentions(), torch.ones(1, 3))
    torch.testing.assert_close(out, torch.tensor([[1.2, 1.5, 1.3]]))


def test_awvti_zeroes_padding_and_special_tokens():
    out = awvti(attentions(), torch.tensor([[1, 1, 0]]), special_tokens_mask=torch.tensor([[1, 0, 0]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.5, 0.0]]))


def test_nas_is_layer_head_mean_normalised_over_all_real_tokens():
    # means over the 4 layer-heads are .3, .375, .325, which already sum to 1
    out = nas(attentions(), torch.ones(1, 3))
    torch.testing.assert_close(out, torch.tensor([[0.3, 0.375, 0.325]]))


def test_nas_sums_to_one_over_real_tokens_only():
    out = nas(attentions(), torch.ones(1, 3), special_tokens_mask=torch.tensor([[1, 0, 0]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.5 / 2.8, 1.3 / 2.8]]))
    padded = nas(attentions(), torch.tensor([[1, 1, 0]]))
    torch.testing.assert_close(padded, torch.tensor([[1.2 / 2.7, 1.5 / 2.7, 0.0]]))


def test_missing_attentions_raise_a_clear_error():
    with pytest.raises(ValueError, match="eager"):
        awvti((None, None), torch.ones(1, 3))
    with pytest.raises(ValueError, match="eager"):
        nas((), torch.ones(1, 3))
