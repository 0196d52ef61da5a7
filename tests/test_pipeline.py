from __future__ import annotations

import math

import pytest
from transformers import pipeline

from depdetect import DepressionDetectionPipeline


@pytest.fixture
def detector(tiny_model, tokenizer):
    return DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)


def test_result_has_label_score_and_word_level_tokens_in_text_order(detector):
    text = "I feel unbelievably lost and hopeless."
    out = detector(text)
    assert out["label"] in {"control", "depression"} and 0.5 <= out["score"] <= 1
    # one vocabulary across systems: `probability` is P(depression); `score` (transformers') the label's probability
    assert out["probability"] == pytest.approx(out["score"] if out["label"] == "depression" else 1 - out["score"])
    words = [t["token"] for t in out["tokens"]]
    # "unbelievably" is several word pieces in this vocabulary; it comes back as one word; no [CLS]/[SEP]
    assert words == ["I", "feel", "unbelievably", "lost", "and", "hopeless", "."]
    assert math.isclose(sum(t["nas"] for t in out["tokens"]), 1.0, rel_tol=1e-5)
    assert all(t["awvti"] > 0 for t in out["tokens"])
    assert out["truncated"] is False


def test_word_scores_are_sums_of_their_pieces(detector, tokenizer, tiny_model):
    text = "unbelievably sad"
    enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask")
    expl = tiny_model.explain(**enc, special_tokens_mask=special)
    pieces = len(tokenizer.tokenize("unbelievably"))
    assert pieces > 1
    out = detector(text)
    assert math.isclose(out["tokens"][0]["nas"], float(expl.nas[0, 1 : 1 + pieces].sum()), rel_tol=1e-5)
    assert math.isclose(out["tokens"][1]["awvti"], float(expl.awvti[0, 1 + pieces]), rel_tol=1e-5)


def test_batched_calls_match_single_calls(detector):
    texts = ["I cannot sleep and nothing matters", "Looking for advice on my pension", "sad"]
    batched = detector(texts, batch_size=3)
    for text, got in zip(texts, batched):
        single = detector(text)
        assert got["label"] == single["label"] and math.isclose(got["score"], single["score"], rel_tol=1e-4)
        assert [t["token"] for t in got["tokens"]] == [t["token"] for t in single["tokens"]]


def test_long_text_is_truncated_and_flagged(detector, tiny_model):
    out = detector("word " * 1000)
    assert out["truncated"] is True
    assert len(out["tokens"]) == tiny_model.config.max_length - 2


def test_explain_false_skips_tokens(detector):
    out = detector("I feel fine", explain=False)
    assert set(out) == {"label", "probability", "score", "truncated"}


@pytest.mark.parametrize(
    "bad, message",
    [
        (None, "is None"),
        (42, "must be a string, got int"),
        ("", "empty"),
        ("   ", "empty"),
        ([], "empty list"),
        (["fine", None], r"inputs\[1\] is None"),
    ],
)
def test_bad_inputs_raise_clear_errors(detector, bad, message):
    with pytest.raises(ValueError, match=message):
        detector(bad)


def test_registered_task_builds_the_pipeline(tiny_model, tokenizer):
    detector = pipeline("depression-detection", model=tiny_model, tokenizer=tokenizer)
    assert isinstance(detector, DepressionDetectionPipeline)


def test_generators_and_key_datasets_stream_results_like_lists(detector):
    from datasets import Dataset
    from transformers.pipelines.pt_utils import KeyDataset

    texts = ["I cannot sleep and nothing matters", "Looking for advice on my pension", "sad"]
    expected = detector(texts, explain=False)
    streamed = list(detector((t for t in texts), explain=False))
    keyed = list(detector(KeyDataset(Dataset.from_dict({"text": texts}), "text"), batch_size=2, explain=False))
    for got in (streamed, keyed):
        assert [g["label"] for g in got] == [e["label"] for e in expected]
        assert [g["probability"] for g in got] == pytest.approx([e["probability"] for e in expected], rel=1e-4)


def test_a_bad_item_in_a_stream_is_named(detector):
    with pytest.raises(ValueError, match=r"inputs\[1\] is empty"):
        list(detector(t for t in ["fine", "  "]))


def test_unknown_keyword_arguments_are_refused(detector):
    with pytest.raises(TypeError, match="max_lenght"):
        detector("some text", max_lenght=16)


def test_contractions_and_hyphenated_words_come_back_as_one_word_with_their_pieces_summed(detector):
    out = detector("I can't sleep, haven't eaten; my well-being is gone.")
    words = [t["token"] for t in out["tokens"]]
    assert words == ["I", "can't", "sleep", ",", "haven't", "eaten", ";", "my", "well-being", "is", "gone", "."]
    assert math.isclose(sum(t["nas"] for t in out["tokens"]), 1.0, rel_tol=1e-5)


def test_a_huge_text_is_cut_before_tokenising_and_reads_the_same_tokens(detector, tokenizer, monkeypatch):
    """Issue 23, finding 7: only a bounded prefix of a text is tokenised (a 10 MB text no longer costs GBs), and the
    tokens the model reads are those of the whole text."""
    text = " ".join(f"w{i % 997}x{i}" for i in range(200_000))  # ~2.5 MB, many pieces per word
    seen = []
    original = type(tokenizer).__call__

    def spy(self, text_, *args, **kwargs):
        seen.append(len(text_) if isinstance(text_, str) else sum(map(len, text_)))
        return original(self, text_, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", spy)
    out = detector(text)
    assert out["truncated"] is True and max(seen) < 200_000
    full = tokenizer(text, truncation=True, max_length=detector.model.config.max_length)
    kept = tokenizer.convert_ids_to_tokens(full["input_ids"][1:-1])
    assert "".join(t["token"] for t in out["tokens"]) == "".join(k.removeprefix("##") for k in kept)


def test_top_k_returns_transformers_list_with_the_decided_label_first(detector, tiny_model):
    text = "I cannot sleep and nothing matters"
    default = detector(text)
    every = detector(text, top_k=None)
    assert [set(entry) for entry in every] == [{"label", "score"}] * 2
    assert {entry["label"] for entry in every} == {"control", "depression"}
    assert every[0]["label"] == default["label"] and every[0]["score"] == pytest.approx(default["score"])
    assert sum(entry["score"] for entry in every) == pytest.approx(1.0)
    assert detector(text, top_k=1) == every[:1]
    assert detector([text, "fine"], top_k=2)[0] == every
    # a saved threshold decides the label, not the larger score: the decided label still comes first
    p = default["probability"]
    tiny_model.config.decision_threshold = p - 0.01 if p < 0.5 else p + 0.01  # flips the decision
    flipped = detector(text, top_k=None)
    assert flipped[0]["label"] != default["label"] == detector(text, top_k=None)[1]["label"]
    assert flipped[0]["label"] == detector(text, explain=False)["label"]
    with pytest.raises(ValueError, match="without explanations"):
        detector(text, top_k=1, explain="nas")
    with pytest.raises(ValueError, match="positive integer or None"):
        detector(text, top_k=0)


def test_function_to_apply_sets_how_scores_come_from_the_logits(detector, tiny_model, tokenizer):
    import torch

    text = "I cannot sleep and nothing matters"
    with torch.no_grad():
        logits = tiny_model(**tokenizer(text, return_tensors="pt")).logits[0]
    softmax = detector(text, explain=False)
    none = detector(text, explain=False, function_to_apply="none")
    sigmoid = detector(text, explain=False, function_to_apply="sigmoid")
    index = tiny_model.config.label2id[softmax["label"]]
    assert none["score"] == pytest.approx(float(logits[index]), abs=1e-5)
    assert sigmoid["score"] == pytest.approx(float(logits[index].sigmoid()), abs=1e-6)
    # label and P(depression) stay what the calibrated probability and the threshold decide
    assert none["label"] == sigmoid["label"] == softmax["label"]
    assert none["probability"] == sigmoid["probability"] == softmax["probability"]
    scores = detector(text, top_k=None, function_to_apply="none")
    assert [entry["score"] for entry in scores] == pytest.approx(
        [float(logits[tiny_model.config.label2id[entry["label"]]]) for entry in scores], abs=1e-5)
    with pytest.raises(ValueError, match="function_to_apply"):
        detector(text, function_to_apply="relu")


def test_truncation_false_refuses_a_text_the_model_cannot_read_whole(detector, tiny_model):
    assert detector("I feel fine", truncation=False)["truncated"] is False
    assert detector("word " * 1000, truncation=True)["truncated"] is True
    with pytest.raises(ValueError, match=r"more than \d+ tokens long and the model reads \d+"):
        detector("word " * 1000, truncation=False)  # cut before tokenising (a huge text costs no more)
    with pytest.raises(ValueError, match=r"A text is 202 tokens long and the model reads 128"):
        detector("word " * 200, truncation=False)
