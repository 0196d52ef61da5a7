"""The Hybrid's training options beyond the paper (issue 25): early stopping, a pooled-embedding path, a contrastive
warm-up (SetFit's first stage) and label-word masking."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from depdetect.audit import DEFAULT_LABEL_WORDS, label_word_pattern, mask_label_words
from depdetect.cli import main
from depdetect.contrastive import contrastive_warmup, cosine_similarity_loss, mean_pool, sample_pairs
from depdetect.hybrid.configuration_hybrid import HybridConfig
from depdetect.hybrid.modeling_hybrid import HybridForSequenceClassification
from depdetect.training import TrainState, _stop_early

from .test_train import args


def test_early_stopping_stops_once_the_validation_metric_has_not_improved_for_patience_epochs(
    tiny_encoder_dir, posts_files, tmp_path
):
    # an encoder that does not learn and a head that barely does: validation AUPRC never beats epoch 1
    out = tmp_path / "early"
    metrics = main(args(tiny_encoder_dir, posts_files, out, "--num_epochs", "6", "--early_stopping_patience", "2",
                        "--metric_for_best_model", "auprc", "--learning_rate", "1e-12", "--encoder_learning_rate",
                        "0", "--checkpointing_steps", "0", "--no_faithfulness", "--no_audit")).metrics
    assert metrics["best_epoch"] == 1 and metrics["epochs_run"] == 3  # epochs 2 and 3 were no better: stop
    assert "early stopping after 2 epoch(s)" in json.loads((out / "metrics.json").read_text())["card"][
        "training_description"]


class _Quiet:
    def print(self, *args, **kwargs):
        pass


@pytest.mark.parametrize(("patience", "epoch", "best", "stops"), [
    (0, 9, 1, False), (2, 2, 1, False), (2, 3, 1, True), (1, 3, 3, False), (1, 1, None, False)])
def test_the_stopping_rule_reads_only_the_state_so_a_resumed_run_stops_where_it_would_have(
    patience, epoch, best, stops
):
    assert _stop_early(TrainState(epoch=epoch, best_epoch=best), patience, _Quiet()) is stops


def test_the_pooled_embedding_path_widens_the_fused_vector_and_ignores_padding(tiny_config, tokenizer):
    plain = HybridForSequenceClassification(HybridConfig(**{**tiny_config.to_dict(), "use_pooled_embedding": False}))
    config = HybridConfig(**{**tiny_config.to_dict(), "use_pooled_embedding": True})
    model = HybridForSequenceClassification(config).eval()
    hidden = config.encoder_config.hidden_size
    assert model.fc.in_features == plain.fc.in_features + hidden
    texts = ["I can't sleep and nothing matters", "great game last night, what a finish for the home side"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        together = model(**batch).logits
        alone = model(**tokenizer(texts[:1], return_tensors="pt")).logits
        torch.testing.assert_close(together[:1], alone, atol=1e-5, rtol=1e-5)
        states = model.encoder(**batch).last_hidden_state
    expected = states[0, : int(batch["attention_mask"][0].sum())].mean(0)
    torch.testing.assert_close(mean_pool(states, batch["attention_mask"])[0], expected)


def test_a_saved_model_with_the_pooled_path_reloads_to_the_same_logits(tiny_config, tokenizer, tmp_path):
    config = HybridConfig(**{**tiny_config.to_dict(), "use_pooled_embedding": True})
    model = HybridForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path)
    again = HybridForSequenceClassification.from_pretrained(tmp_path).eval()
    assert again.config.use_pooled_embedding is True
    batch = tokenizer(["nothing helps anymore"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, again(**batch).logits)


def test_the_pooled_path_is_the_default_but_a_config_saved_before_it_existed_loads_without_it(tiny_config):
    assert HybridConfig(encoder_config=tiny_config.encoder_config).use_pooled_embedding is True
    old = {k: v for k, v in tiny_config.to_dict().items() if k != "use_pooled_embedding"}
    assert HybridConfig.from_dict(old).use_pooled_embedding is False  # depdetect < 0.11: the paper's fusion
    assert HybridConfig.from_dict({**old, "use_pooled_embedding": True}).use_pooled_embedding is True


def test_pairs_are_half_same_label_with_each_class_in_turn_and_seeded():
    labels = [0] * 30 + [1] * 3
    pairs = sample_pairs(labels, 40, seed=1)
    assert pairs == sample_pairs(labels, 40, seed=1) and pairs != sample_pairs(labels, 40, seed=2)
    same = [p for p in pairs if p[2] == 1.0]
    assert len(same) == 20 and all(labels[i] == labels[j] and i != j for i, j, _ in same)
    assert sum(labels[i] == 1 for i, _, _ in same) == 10  # the minority class gets half the same-label pairs
    assert all(labels[i] != labels[j] for i, j, s in pairs if s == 0.0)
    with pytest.raises(ValueError, match="at least two labels"):
        sample_pairs([1, 1, 1], 4, seed=0)


def test_the_warm_up_pulls_same_label_texts_together(tiny_encoder_dir, tokenizer, posts_files):
    import pandas as pd
    from transformers import AutoModel

    frame = pd.read_csv(posts_files["train"])
    texts, labels = frame["text"].tolist(), frame["label"].tolist()
    encoder = AutoModel.from_pretrained(tiny_encoder_dir)
    pairs = sample_pairs(labels, 200, seed=5)

    def gap():
        encoder.eval()
        with torch.no_grad():
            batch = tokenizer(texts, truncation=True, max_length=48, padding=True, return_tensors="pt")
            e = torch.nn.functional.normalize(mean_pool(encoder(**batch).last_hidden_state,
                                                        batch["attention_mask"]), dim=-1)
        cos = np.array([float(e[i] @ e[j]) for i, j, _ in pairs])
        same = np.array([s for _, _, s in pairs]) == 1.0
        return cos[same].mean() - cos[~same].mean()

    before = gap()
    done = contrastive_warmup(encoder, tokenizer, texts, labels, 200, max_length=48, learning_rate=1e-3, seed=5)
    assert done["pairs"] == 200 and done["steps"] == 13 and done["same_label_pairs"] == 100
    assert done["loss_last_tenth"] < done["loss_first_tenth"]
    assert gap() > before + 0.05


def test_label_words_are_masked_with_the_given_probability_and_seed():
    pattern = label_word_pattern(DEFAULT_LABEL_WORDS)
    texts = ["My depression is back, posting on r/depression again", "Suicidal thoughts. Depressed all week."] * 50
    everything, count = mask_label_words(texts, pattern, 1.0, "[MASK]", seed=0)
    assert count == 200 and everything[0] == "My [MASK] is back, posting on [MASK] again"
    assert mask_label_words(texts, pattern, 0.0, "[MASK]", seed=0) == (texts, 0)
    half, count = mask_label_words(texts, pattern, 0.5, "[MASK]", seed=3)
    assert 70 < count < 130 and (half, count) == mask_label_words(texts, pattern, 0.5, "[MASK]", seed=3)


def test_training_with_the_warm_up_and_masking_records_both_and_the_card_says_so(
    tiny_encoder_dir, posts_files, tmp_path
):
    out = tmp_path / "options"
    metrics = main(args(tiny_encoder_dir, posts_files, out, "--max_steps", "2", "--contrastive_pairs", "16",
                        "--label_word_masking", "1", "--no_faithfulness",
                        "--no_audit")).metrics
    assert metrics["contrastive_warmup"]["pairs"] == 16 and metrics["contrastive_warmup"]["steps"] == 1
    assert metrics["label_word_masking"]["words_masked"] > 0 and metrics["label_word_masking"]["texts"] == 24
    card = (out / "README.md").read_text()
    assert "mean-pooled embedding" in card and "contrastive warm-up of the encoder on 16" in card  # pooled: default
    assert "label words masked in training texts with probability 1.0" in card


@pytest.mark.parametrize(("flags", "message"), [
    (["--label_word_masking", "1.5"], "probability in"), (["--contrastive_pairs", "-1"], "contrastive_pairs"),
    (["--early_stopping_patience", "-1"], "early_stopping_patience"), (["--report_to", "neptune"], "report_to"),
    (["--report_to", "none,tensorboard"], "report_to")])
def test_bad_option_values_are_refused_before_training(tiny_encoder_dir, posts_files, tmp_path, capsys, flags,
                                                       message):
    with pytest.raises(SystemExit) as exit_:
        main(args(tiny_encoder_dir, posts_files, tmp_path / "bad", *flags))
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def tensorboard_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} from the TensorBoard event files under `folder` (TFRecord framing, read here)."""
    import struct

    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4  # length, its CRC, the record, its CRC
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_report_to_tensorboard_logs_the_loss_per_step_and_validation_per_epoch_where_push_skips_them(
    tiny_encoder_dir, posts_files, tmp_path
):
    from depdetect.hub import publishable_files

    out = tmp_path / "tracked"
    metrics = main(args(tiny_encoder_dir, posts_files, out, "--num_epochs", "2", "--report_to", "tensorboard",
                        "--checkpointing_steps", "0", "--no_faithfulness", "--no_audit")).metrics
    scalars = tensorboard_scalars(out / "logs" / "hybrid")
    steps = [h["step"] for h in metrics["validation_history"]]  # 24 posts, batch 4: 6 steps an epoch
    assert [step for step, _ in scalars["train/loss"]] == list(range(1, steps[-1] + 1))
    assert [step for step, _ in scalars["eval/auprc"]] == steps
    assert [value for _, value in scalars["eval/auprc"]] == pytest.approx(
        [h["eval_auprc"] for h in metrics["validation_history"]])
    assert all(np.isfinite(value) for _, value in scalars["train/learning_rate"])
    assert not any(name.startswith("logs/") for name in publishable_files(out))


def test_report_to_names_the_package_a_missing_tracker_needs(tiny_encoder_dir, posts_files, tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("wandb"):
        pytest.skip("wandb is installed here")
    with pytest.raises(SystemExit) as exit_:
        main(args(tiny_encoder_dir, posts_files, tmp_path / "wandb", "--report_to", "wandb"))
    assert exit_.value.code == 2 and "pip install wandb" in capsys.readouterr().err


def test_the_warm_up_loss_is_sentence_transformers_cosine_similarity_loss():
    """contrastive.py writes CosineSimilarityLoss out (the core install has no sentence-transformers): same value."""
    pytest.importorskip("sentence_transformers")
    try:
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    except ImportError:
        from sentence_transformers.losses import CosineSimilarityLoss

    torch.manual_seed(0)
    u, v, target = torch.randn(6, 8), torch.randn(6, 8), torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    theirs = CosineSimilarityLoss(torch.nn.Identity())
    expected = theirs.loss_fct(theirs.cos_score_transformation(torch.cosine_similarity(u, v)), target)
    torch.testing.assert_close(cosine_similarity_loss(u, v, target), expected)
