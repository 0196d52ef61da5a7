from __future__ import annotations

import pytest
import torch

from depdetect import DepressionScoringPipeline, DualEncoderConfig, DualEncoderForDepressionScoring

from .conftest import TINY_BERT

TURNS = [{"prompt": "How is your sleep?", "response": "I wake at four."}, {"prompt": "Mood?", "response": "Low."}]


@pytest.fixture
def scorer(tokenizer):
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, num_labels=2)).eval()
    return DepressionScoringPipeline(model=model, tokenizer=tokenizer)


def test_classification_variant_adds_label_and_probability(scorer):
    out = scorer(TURNS)
    assert out["label"] in {"control", "depression"} and out["probability"] == out["score"]
    assert [t["index"] for t in out["turns"]] == [0, 1] and out["turns"][1]["prompt"] == "Mood?"


@pytest.mark.parametrize(
    "bad, message",
    [([], "has no turns"), ({"turns": []}, "has no turns"), ("just a string", "must be a list"),
     ([{"prompt": "Q", "response": ""}], r"turn 0 `response` is empty"), ([{"prompt": 3, "response": "x"}], "`prompt` must be a string"),
     ([{"turns": TURNS}, {"turns": []}], r"interviews\[1\] has no turns")],
)
def test_bad_interviews_are_clear_errors(scorer, bad, message):
    with pytest.raises(ValueError, match=message):
        scorer(bad)


def test_long_turns_are_truncated_to_the_models_turn_length(scorer):
    out = scorer([{"prompt": "Tell me more.", "response": "word " * 500}])
    assert out["turns"][0]["attention"] == pytest.approx(1.0)
    assert out["turns"][0]["response"] == "word " * 500  # the text comes back whole; only the model saw 32 tokens
