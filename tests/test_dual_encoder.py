from __future__ import annotations

import pytest
import torch
from transformers import AutoModel

from depdetect import DualEncoderConfig, DualEncoderForDepressionScoring
from depdetect.dual_encoder.data import InterviewCollator, interviews_from_records, tokenize_interviews
from depdetect.dual_encoder.mhim import strip_meta

from .conftest import TINY_BERT

INTERVIEWS = [
    {"interview_id": "a", "score": 12.0, "label": 1, "turns": [
        {"prompt": "How have you been sleeping?", "response": "Badly, I wake up at four every night."},
        {"prompt": "And your appetite?", "response": "I barely eat."},
        {"prompt": "", "response": "Nothing feels worth doing anymore."},
    ]},
    {"interview_id": "b", "score": 3.0, "label": 0, "turns": [
        {"prompt": "How are things at work?", "response": "Busy but fine, we shipped the new release."},
    ]},
]


@pytest.fixture
def tiny_dual_config(tokenizer) -> DualEncoderConfig:
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    return DualEncoderConfig(prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=3,
                             projection_size=8, lstm_hidden_size=4, dropout=0.0, max_turn_length=32)


@pytest.fixture
def tiny_dual(tiny_dual_config) -> DualEncoderForDepressionScoring:
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(tiny_dual_config).eval()
    with torch.no_grad():  # a sharper attention than the near-uniform initial one, so order matters in tests
        model.attention.context.weight.normal_(0, 2.0)
    return model


def batch_of(tokenizer, interviews, num_labels=1):
    ds = tokenize_interviews(interviews_from_records(interviews, "test"), tokenizer, 32)
    rows = [dict(r, index=i) for i, r in enumerate(ds)]
    return strip_meta(InterviewCollator(tokenizer.pad_token_id, num_labels, 10.0)(rows), 0)


@pytest.mark.parametrize(
    "name, value", [("prefix_length", 0), ("projection_size", -2), ("dropout", 1.5), ("score_std", 0.0)]
)
def test_config_rejects_bad_values_naming_the_field(tiny_dual_config, name, value):
    kwargs = {**tiny_dual_config.to_dict(), name: value}
    kwargs.pop("model_type")
    with pytest.raises(ValueError, match=f"`{name}`"):
        DualEncoderConfig(**kwargs)


def test_config_rejects_encoders_with_different_vocabularies():
    with pytest.raises(ValueError, match="share a tokenizer"):
        DualEncoderConfig(
            prefix_encoder_config={**TINY_BERT, "vocab_size": 99},
            sentence_encoder_config={**TINY_BERT, "vocab_size": 100},
        )


def test_config_rejects_three_labels_and_too_long_turns():
    with pytest.raises(ValueError, match="num_labels"):
        DualEncoderConfig(num_labels=3)
    with pytest.raises(ValueError, match="max_turn_length"):
        DualEncoderConfig(max_turn_length=510, prefix_length=10)


def test_defaults_follow_lau_et_al():
    config = DualEncoderConfig()
    assert (config.prefix_length, config.projection_size, config.lstm_hidden_size, config.dropout) == (
        10,
        128,
        64,
        0.5,
    )
    assert config.num_labels == 1 and config.problem_type == "regression"


def test_forward_shapes_loss_only_with_labels_and_no_attention_on_padding_turns(tiny_dual, tokenizer):
    batch = batch_of(tokenizer, INTERVIEWS)
    labels = batch.pop("labels")
    out = tiny_dual(**batch)
    assert out.scores.shape == (2,) and out.attentions.shape == (2, 3) and out.loss is None
    assert out.attentions[1, 1:].eq(0).all()  # interview b has one turn: the two padding turns get nothing
    torch.testing.assert_close(out.attentions.sum(1), torch.ones(2))
    assert tiny_dual(**batch, labels=labels).loss > 0


def test_an_interview_scores_the_same_alone_or_in_a_padded_batch(tiny_dual, tokenizer):
    both = tiny_dual(**{k: v for k, v in batch_of(tokenizer, INTERVIEWS).items() if k != "labels"})
    for i, interview in enumerate(INTERVIEWS):
        alone = tiny_dual(**{k: v for k, v in batch_of(tokenizer, [interview]).items() if k != "labels"})
        n = len(interview["turns"])
        torch.testing.assert_close(both.scores[i], alone.scores[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(both.attentions[i, :n], alone.attentions[0], atol=1e-5, rtol=1e-4)


def test_masked_turns_are_removed_as_if_absent(tiny_dual, tokenizer):
    batch = {k: v for k, v in batch_of(tokenizer, INTERVIEWS[:1]).items() if k != "labels"}
    masked = tiny_dual(**batch, instance_mask=torch.tensor([[0, 1, 0]]))
    without = dict(INTERVIEWS[0], turns=[INTERVIEWS[0]["turns"][0], INTERVIEWS[0]["turns"][2]])
    absent = tiny_dual(**{k: v for k, v in batch_of(tokenizer, [without]).items() if k != "labels"})
    torch.testing.assert_close(masked.scores, absent.scores, atol=1e-5, rtol=1e-4)
    assert masked.attentions[0, 1] == 0
    torch.testing.assert_close(masked.attentions[0, [0, 2]], absent.attentions[0], atol=1e-5, rtol=1e-4)


def test_an_interview_with_every_turn_masked_is_a_clear_error(tiny_dual, tokenizer):
    batch = {k: v for k, v in batch_of(tokenizer, INTERVIEWS).items() if k != "labels"}
    with pytest.raises(ValueError, match="no turn left"):
        tiny_dual(**batch, instance_mask=torch.tensor([[0, 0, 0], [1, 0, 0]]))


def test_nan_score_labels_are_a_clear_error(tiny_dual, tokenizer):
    batch = {k: v for k, v in batch_of(tokenizer, INTERVIEWS).items() if k != "labels"}
    with pytest.raises(ValueError, match="NaN"):
        tiny_dual(**batch, labels=torch.tensor([1.0, float("nan")]))


def test_only_prefixes_and_new_layers_train(tiny_dual, tokenizer):
    trainable = {n.split(".")[0] for n, p in tiny_dual.named_parameters() if p.requires_grad}
    assert trainable == {"prefix", "prefix_projection", "sentence_projection", "lstm", "attention", "head"}
    tiny_dual.train()
    batch = batch_of(tokenizer, INTERVIEWS)
    tiny_dual(**batch).loss.backward()
    assert tiny_dual.prefix.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in tiny_dual.prefix_encoder.parameters())


def test_regression_scores_are_on_the_original_scale(tiny_dual_config, tokenizer):
    tiny_dual_config.score_mean, tiny_dual_config.score_std = 10.0, 4.0
    model = DualEncoderForDepressionScoring(tiny_dual_config).eval()
    batch = batch_of(tokenizer, INTERVIEWS)
    out = model(**batch)
    torch.testing.assert_close(out.scores, out.logits.squeeze(-1) * 4.0 + 10.0)
    target = (batch["labels"] - 10.0) / 4.0
    torch.testing.assert_close(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(-1), target))


def test_classification_variant_gives_probabilities_and_cross_entropy(tiny_dual_config, tokenizer):
    kwargs = {
        k: v
        for k, v in tiny_dual_config.to_dict().items()
        if k not in ("model_type", "id2label", "label2id", "problem_type")
    }
    model = DualEncoderForDepressionScoring(DualEncoderConfig(**kwargs, num_labels=2)).eval()
    batch = batch_of(tokenizer, INTERVIEWS, num_labels=2)
    assert batch["labels"].tolist() == [1, 0]
    out = model(**batch)
    torch.testing.assert_close(out.scores, out.logits.softmax(-1)[:, 1])
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, batch["labels"]))
    assert model.config.id2label == {0: "control", 1: "depression"}


def test_save_and_load_give_identical_scores(tiny_dual, tokenizer, tmp_path):
    batch = {k: v for k, v in batch_of(tokenizer, INTERVIEWS).items() if k != "labels"}
    tiny_dual.save_pretrained(tmp_path)
    for loader in (DualEncoderForDepressionScoring, AutoModel):
        loaded = loader.from_pretrained(tmp_path).eval()
        torch.testing.assert_close(loaded(**batch).scores, tiny_dual(**batch).scores)
        assert not any(p.requires_grad for p in loaded.prefix_encoder.parameters())


def test_from_encoders_loads_both_encoders(tiny_encoder_dir):
    model = DualEncoderForDepressionScoring.from_encoders(tiny_encoder_dir, prefix_length=2, max_turn_length=64)
    source = AutoModel.from_pretrained(tiny_encoder_dir).state_dict()
    for encoder in (model.prefix_encoder, model.sentence_encoder):
        for name, value in encoder.state_dict().items():
            torch.testing.assert_close(value, source[name], msg=name)


def test_the_prefix_encoder_takes_its_prefixes_without_the_deprecated_argument_and_gives_the_saved_outputs():
    """tests/fixtures/prefix_encoder was written while the prefixes went in as `past_key_values` (deprecated by
    transformers, removed in 5.40); passed as today's cache argument, the outputs are the same."""
    import json
    import warnings
    from pathlib import Path

    from safetensors.torch import load_model

    folder = Path(__file__).parent / "fixtures" / "prefix_encoder"
    expected = json.loads((folder / "expected.json").read_text())
    model = DualEncoderForDepressionScoring(DualEncoderConfig(**expected["config"])).eval()
    load_model(model, folder / "model.safetensors")
    ids = torch.tensor(expected["input_ids"])
    mask = (ids != 0).long()
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        out = model(input_ids=ids, attention_mask=mask)
        turns = model._encode_turns(ids[0], mask[0], None)
    assert not [w for w in caught if "past_key_values" in str(w.message)]
    torch.testing.assert_close(turns, torch.tensor(expected["turn_encodings"]), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.logits, torch.tensor(expected["logits"]), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.attentions, torch.tensor(expected["attentions"]), atol=1e-5, rtol=0)
    with torch.no_grad():  # and the prefixes count: without them the encodings move
        model.prefix.weight.zero_()
        assert (model._encode_turns(ids[0], mask[0], None) - turns).abs().max() > 1e-3
