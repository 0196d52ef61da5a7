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
    assert out["label"] in {"control", "depression"} and 0 <= out["probability"] <= 1 and "severity" not in out
    assert (out["label"] == "depression") == (out["probability"] >= 0.5)
    assert [t["index"] for t in out["turns"]] == [0, 1] and out["turns"][1]["prompt"] == "Mood?"


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "has no turns"),
        ({"turns": []}, "has no turns"),
        ("just a string", "must be a list"),
        ([{"prompt": "Q", "response": ""}], r"turn 0 `response` is empty"),
        ([{"prompt": 3, "response": "x"}], "`prompt` must be a string"),
        ([{"turns": TURNS}, {"turns": []}], r"interviews\[1\] has no turns"),
    ],
)
def test_bad_interviews_are_clear_errors(scorer, bad, message):
    with pytest.raises(ValueError, match=message):
        scorer(bad)


def test_long_turns_are_truncated_to_the_models_turn_length(scorer):
    out = scorer([{"prompt": "Tell me more.", "response": "word " * 500}])
    assert out["turns"][0]["attention"] == pytest.approx(1.0)
    assert out["turns"][0]["response"] == "word " * 500  # the text comes back whole; only the model saw 32 tokens


def test_regression_models_say_severity_and_streams_match_lists(tokenizer):
    from datasets import Dataset
    from transformers.pipelines.pt_utils import KeyDataset

    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, score_mean=10.0, score_std=4.0)).eval()
    scorer = DepressionScoringPipeline(model=model, tokenizer=tokenizer)
    rows = [{"turns": TURNS}, {"turns": TURNS[:1]}]
    expected = scorer(rows)
    assert set(expected[0]) == {"severity", "turns"}
    keyed = list(scorer(KeyDataset(Dataset.from_list(rows), "turns"), batch_size=2))
    streamed = list(scorer(r for r in rows))
    for got in (keyed, streamed):
        assert [g["severity"] for g in got] == pytest.approx([e["severity"] for e in expected], rel=1e-5)
