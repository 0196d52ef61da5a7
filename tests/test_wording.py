"""What a new user reads must be right (issue 23, finding 16): severity intervals keep to the scale of the data,
regression baselines are called what they are (ridge), counts print as counts, and plurals read as English."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depdetect import DepressionScoringPipeline, DualEncoderConfig, DualEncoderForDepressionScoring

from .conftest import TINY_BERT

TURNS = [{"prompt": "How is your sleep?", "response": "I wake at four."}, {"prompt": "Mood?", "response": "Low."}]


def severity_scorer(tokenizer, **config) -> DepressionScoringPipeline:
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, score_mean=2.0, score_std=1.0,
        conformal={"coverage": 0.9, "quantile": 30.0}, **config)).eval()
    return DepressionScoringPipeline(model=model, tokenizer=tokenizer)


def test_severity_intervals_are_clipped_to_the_scale_of_the_training_scores(tokenizer):
    out = severity_scorer(tokenizer, score_range=[0.0, 24.0])(TURNS)
    low, high = out["interval"]
    assert low == 0.0 and high == 24.0 and low <= out["severity"] <= high
    old = severity_scorer(tokenizer)(TURNS)  # saved before the range was recorded: as it was
    assert old["interval"][0] < 0


@pytest.mark.parametrize("bad", [[24, 0], [0], [0, float("nan")], "0-24"])
def test_a_score_range_that_is_not_two_ordered_numbers_is_refused(bad):
    with pytest.raises(ValueError, match="score_range"):
        DualEncoderConfig(score_range=bad)


def test_training_records_the_scale_of_its_scores():
    from depdetect.dual_encoder.arguments import DualEncoderArguments
    from depdetect.dual_encoder.recipe import build_dual_encoder

    args = DualEncoderArguments()
    args.config.update(prefix_length=2, projection_size=8, lstm_hidden_size=4, max_turn_length=32)
    model = build_dual_encoder(args, [3.0, 0.0, 17.0, 9.0])
    assert model.config.score_range == [0.0, 17.0]


def test_regression_baselines_are_named_ridge_and_classification_ones_logreg():
    from depdetect.baselines import BASELINE_DESCRIPTIONS, fit_baselines

    docs = [[f"word{i % 5} text number {i}"] for i in range(40)]
    regression = fit_baselines(docs[:30], np.arange(30.0), docs[30:], "regression", which="tfidf")
    classification = fit_baselines(docs[:30], np.arange(30) % 2, docs[30:], "classification", which="tfidf")
    assert set(regression) == {"tfidf_ridge"} and set(classification) == {"tfidf_logreg"}
    assert "ridge" in BASELINE_DESCRIPTIONS["tfidf_ridge"]


def test_counts_print_as_whole_numbers():
    from depdetect.metrics import interview_metrics
    from depdetect.utils import format_number

    attention = [np.array([0.7, 0.3]), np.array([0.5, 0.5])]
    metrics = interview_metrics(np.array([1.0, 2.0]), np.array([1.0, 3.0]), attention,
                                [np.array([1, 0]), np.array([0, 1])])
    assert isinstance(metrics["recall_interviews_scored"], int)
    assert format_number(metrics["recall_interviews_scored"]) == "2" and format_number(0.5) == "0.5000"
    assert format_number(np.int64(16)) == "16" and format_number(float("nan")) == "n/a"


def test_the_doris_report_section_says_post_and_posts():
    from depdetect.doris.views import html_section

    row = {"user_id": "u", "label": "depression", "probability": 0.9, "explanation": "...", "mood_course": [],
           "symptoms": [{"code": "A1", "name": "Depressed mood", "posts": [{"text": "low", "timestamp": None}]},
                        {"code": "A2", "name": "Sleep", "posts": [{"text": "a", "timestamp": None},
                                                                  {"text": "b", "timestamp": None}]}]}
    html = html_section(row)
    assert "(1 post)" in html and "(2 posts)" in html and "post(s)" not in html
