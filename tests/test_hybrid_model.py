from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from depdetect import HybridConfig, HybridForSequenceClassification


def batch(tokenizer, texts):
    return tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")


TEXTS = ["I feel lost and hopeless. Nothing excites me anymore.", "ok", "The council approved the new budget today."]


@pytest.mark.parametrize(
    "name, value", [("lstm_hidden_size", 0), ("cnn_num_filters", -1), ("lstm_dropout", 1.0), ("cnn_kernel_sizes", [])]
)
def test_config_rejects_bad_values_naming_the_field(tiny_config, name, value):
    kwargs = {**tiny_config.to_dict(), name: value}
    kwargs.pop("model_type", None)
    with pytest.raises(ValueError, match=f"`{name}`"):
        HybridConfig(**kwargs)


def test_config_rejects_class_weights_of_wrong_length():
    with pytest.raises(ValueError, match="class_weights"):
        HybridConfig(class_weights=[1.0, 2.0, 3.0])


def test_config_defaults_follow_the_paper():
    config = HybridConfig()
    assert (config.lstm_hidden_size, config.lstm_dropout, config.cnn_kernel_sizes, config.cnn_num_filters) == (
        128,
        0.3,
        [3, 4, 5],
        100,
    )
    assert (config.fc_hidden_size, config.max_length, config.num_labels) == (256, 128, 2)
    assert config.id2label == {0: "control", 1: "depression"}


def test_forward_shapes_and_loss_only_with_labels(tiny_model, tokenizer):
    inputs = batch(tokenizer, TEXTS)
    out = tiny_model(**inputs)
    assert out.logits.shape == (3, 2)
    assert out.loss is None
    out = tiny_model(**inputs, labels=torch.tensor([1, 0, 0]))
    assert out.loss.ndim == 0 and out.loss.item() > 0


@pytest.mark.parametrize("use_bilstm, use_cnn", [(True, True), (True, False), (False, True), (False, False)])
def test_padding_does_not_change_logits(tiny_config, tokenizer, use_bilstm, use_cnn):
    tiny_config.use_bilstm, tiny_config.use_cnn = use_bilstm, use_cnn
    torch.manual_seed(0)
    model = HybridForSequenceClassification(tiny_config).eval()
    padded = model(**batch(tokenizer, TEXTS)).logits
    for i, text in enumerate(TEXTS):
        alone = model(**batch(tokenizer, [text])).logits[0]
        torch.testing.assert_close(padded[i], alone, atol=1e-5, rtol=1e-4)


def test_ablation_switches_build_the_papers_baselines(tiny_config):
    sizes = {}
    tiny_config.use_pooled_embedding = False  # the paper's fusion (depdetect adds the mean-pooled states by default)
    for use_bilstm, use_cnn in [(True, True), (True, False), (False, True), (False, False)]:
        tiny_config.use_bilstm, tiny_config.use_cnn = use_bilstm, use_cnn
        model = HybridForSequenceClassification(tiny_config)
        assert hasattr(model, "lstm") == use_bilstm and hasattr(model, "convs") == use_cnn
        sizes[(use_bilstm, use_cnn)] = model.fc.in_features
    # [CLS] 32 ; BiLSTM 2 x 8 ; CNN 3 kernels x 4 filters
    assert sizes == {(True, True): 32 + 16 + 12, (True, False): 32 + 16, (False, True): 32 + 12, (False, False): 32}


def test_class_weights_weight_the_cross_entropy(tiny_config, tokenizer):
    tiny_config.class_weights = [1.0, 10.0]
    model = HybridForSequenceClassification(tiny_config).eval()
    labels = torch.tensor([1, 0, 0])
    out = model(**batch(tokenizer, TEXTS), labels=labels)
    expected = nn.functional.cross_entropy(out.logits, labels, weight=torch.tensor([1.0, 10.0]))
    torch.testing.assert_close(out.loss, expected)


def test_labels_out_of_range_raise_a_clear_error(tiny_model, tokenizer):
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 1\]"):
        tiny_model(**batch(tokenizer, TEXTS), labels=torch.tensor([0, 2, 1]))


def test_left_padding_is_rejected(tiny_model):
    ids = torch.tensor([[0, 101, 2000, 102]])
    with pytest.raises(ValueError, match="right-padded"):
        tiny_model(input_ids=ids, attention_mask=torch.tensor([[0, 1, 1, 1]]))


def test_short_text_below_the_widest_kernel_works(tiny_model, tokenizer):
    inputs = tokenizer(["ok"], return_tensors="pt")  # [CLS] ok [SEP]: 3 tokens < kernel 4 and 5
    assert inputs["input_ids"].shape[1] == 3
    assert torch.isfinite(tiny_model(**inputs).logits).all()


def test_save_and_load_give_identical_logits(tiny_model, tokenizer, tmp_path):
    inputs = batch(tokenizer, TEXTS)
    tiny_model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    for loader in (HybridForSequenceClassification, AutoModelForSequenceClassification):
        loaded = loader.from_pretrained(tmp_path).eval()
        torch.testing.assert_close(loaded(**inputs).logits, tiny_model(**inputs).logits)


def test_from_encoder_loads_the_encoder_weights_only(tiny_encoder_dir):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(tiny_encoder_dir)
    model = HybridForSequenceClassification.from_encoder(tiny_encoder_dir, use_cnn=False, class_weights=[1, 10])
    assert model.config.use_cnn is False and model.config.class_weights == [1.0, 10.0]
    theirs = encoder.state_dict()
    for name, value in model.encoder.state_dict().items():
        torch.testing.assert_close(value, theirs[name], msg=name)
    assert getattr(model.encoder, "pooler", None) is None


def test_plain_forward_keeps_fast_attention_and_explain_switches_only_inside(tiny_model, tokenizer):
    assert tiny_model.encoder.config._attn_implementation == "sdpa"
    inputs = batch(tokenizer, TEXTS)
    special = torch.tensor(tokenizer(TEXTS, padding=True, return_special_tokens_mask=True)["special_tokens_mask"])
    out = tiny_model.explain(**inputs, special_tokens_mask=special)
    assert tiny_model.encoder.config._attn_implementation == "sdpa"
    torch.testing.assert_close(out.logits, tiny_model(**inputs).logits, atol=1e-5, rtol=1e-4)
    real = inputs["attention_mask"].bool() & ~special.bool()
    torch.testing.assert_close(out.nas.sum(-1), torch.ones(3))
    assert (out.nas[~real] == 0).all() and (out.awvti[~real] == 0).all()
    assert (out.awvti[real] > 0).all()
