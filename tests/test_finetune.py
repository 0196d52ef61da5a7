"""Fine-tuning the way Hugging Face users do: transformers' Trainer (gradient accumulation), PEFT on the whole
Hybrid, the dual encoder's public collator and score normalisation, and a saved folder that runs without depdetect."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from depdetect import (
    DualEncoderConfig,
    DualEncoderForDepressionScoring,
    HybridConfig,
    HybridForSequenceClassification,
    InterviewCollator,
    interviews_from_records,
    lora_config,
    save_for_hub,
    score_normalization,
    tokenize_interviews,
)
from depdetect.hub import publishable_files

from .conftest import TINY_BERT
from .test_remote_code import FRESH, fresh_process

# no dropout anywhere: one batch of 16 and 4 x 4 accumulated must then give the same gradient
NO_DROPOUT = {**TINY_BERT, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
TEXTS = [f"post {i}: " + "I feel empty and tired " * (i % 4) + "work was fine today " * (i % 3) for i in range(16)]


def hybrid(tokenizer, **overrides) -> HybridForSequenceClassification:
    torch.manual_seed(0)
    return HybridForSequenceClassification(HybridConfig(
        encoder_config={**NO_DROPOUT, "vocab_size": tokenizer.vocab_size}, lstm_hidden_size=8, cnn_num_filters=4,
        fc_hidden_size=16, lstm_dropout=0.0, classifier_dropout=0.0, **overrides))


def posts(tokenizer) -> Dataset:
    data = Dataset.from_dict({"text": TEXTS, "label": [i % 2 for i in range(16)]})
    return data.map(lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"])


def first_step(model, dataset, collator, tmp_path, batch_size: int, accumulation: int, **kwargs) -> dict:
    """Train one optimiser step over all 16 examples; Trainer's log of it (loss, grad_norm)."""
    args = TrainingArguments(str(tmp_path / f"run_{batch_size}x{accumulation}"),
                             per_device_train_batch_size=batch_size, gradient_accumulation_steps=accumulation,
                             max_steps=1, logging_steps=1, report_to="none", save_strategy="no", use_cpu=True,
                             learning_rate=1e-3, max_grad_norm=1e9, **kwargs)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.train()
    return next(entry for entry in trainer.state.log_history if "loss" in entry)


def test_trainer_with_gradient_accumulation_gives_the_loss_and_gradient_of_one_large_batch(tokenizer, tmp_path):
    data, collator = posts(tokenizer), DataCollatorWithPadding(tokenizer)
    large = first_step(hybrid(tokenizer), data, collator, tmp_path, 16, 1)
    accumulated = first_step(hybrid(tokenizer), data, collator, tmp_path, 4, 4)
    assert accumulated["loss"] == pytest.approx(large["loss"], abs=1e-4)
    assert accumulated["grad_norm"] == pytest.approx(large["grad_norm"], abs=1e-4)
    # what `accepts_loss_kwargs = False` prevents: Trainer taking the mean loss for one it need not divide
    model = hybrid(tokenizer)
    model.accepts_loss_kwargs = True
    unscaled = first_step(model, data, collator, tmp_path, 4, 4)
    assert unscaled["loss"] == pytest.approx(4 * large["loss"], rel=1e-3)


def interviews(tokenizer) -> Dataset:
    records = [{"interview_id": str(i), "score": float(i), "turns": [
        {"prompt": "How have you been sleeping?", "response": "badly, " * (i % 4 + 1)},
        {"prompt": "", "response": f"day {i} was " + ("grey" if i % 2 else "fine")}]} for i in range(16)]
    return tokenize_interviews(interviews_from_records(records), tokenizer, max_turn_length=32)


def dual(tokenizer, data: Dataset) -> DualEncoderForDepressionScoring:
    torch.manual_seed(0)
    encoder = {**NO_DROPOUT, "vocab_size": tokenizer.vocab_size}
    return DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=encoder, sentence_encoder_config=encoder, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, dropout=0.0, **score_normalization(data["score"])))


def test_the_dual_encoder_trains_under_trainer_with_its_public_collator_and_normalised_scores(tokenizer, tmp_path):
    data = interviews(tokenizer)
    norm = score_normalization(data["score"])
    assert norm["score_mean"] == pytest.approx(7.5) and norm["score_std"] == pytest.approx(4.6098, abs=1e-4)
    assert norm["score_range"] == [0.0, 15.0]
    model = dual(tokenizer, data)
    collator = InterviewCollator(tokenizer.pad_token_id)
    large = first_step(model, data, collator, tmp_path, 16, 1, remove_unused_columns=False)
    accumulated = first_step(dual(tokenizer, data), data, collator, tmp_path, 4, 4, remove_unused_columns=False)
    assert accumulated["loss"] == pytest.approx(large["loss"], abs=1e-4)
    assert accumulated["grad_norm"] == pytest.approx(large["grad_norm"], abs=1e-4)
    # the loss runs on the standardised scale: about 1 for a fresh model (on the raw scale, about mean(score^2) = 77.5)
    assert large["loss"] < 5


def test_trainer_defaults_drop_the_turn_columns_and_the_collator_says_what_to_pass(tokenizer, tmp_path):
    data = interviews(tokenizer)
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        first_step(dual(tokenizer, data), data, InterviewCollator(tokenizer.pad_token_id), tmp_path, 4, 1)


def test_score_normalization_refuses_data_without_scores():
    with pytest.raises(ValueError, match="No training interview has a score"):
        score_normalization([float("nan")])
    assert score_normalization([3.0, 3.0])["score_std"] == 1.0


def test_lora_config_trains_lora_and_every_added_layer_of_the_hybrid(tokenizer, tmp_path):
    from peft import LoraConfig, get_peft_model

    model = hybrid(tokenizer)
    config = lora_config(model, r=4)
    assert sorted(config.modules_to_save) == ["classifier", "convs.0", "convs.1", "convs.2", "fc", "lstm"]
    peft_model = get_peft_model(model, config)
    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    for layer in ("lstm", "convs.0", "convs.2", "fc", "classifier", "lora_A", "lora_B"):
        assert any(f".{layer}." in name for name in trainable), layer
    assert not any("word_embeddings" in name or name.endswith("query.base_layer.weight") for name in trainable)
    # the bare config a user would write leaves the added layers frozen (what lora_config is for)
    bare = get_peft_model(hybrid(tokenizer), LoraConfig(r=4, target_modules=["query", "key", "value"]))
    assert not any(".lstm." in name for name, p in bare.named_parameters() if p.requires_grad)

    lstm_before = model.lstm.weight_ih_l0.detach().clone()
    args = TrainingArguments(str(tmp_path / "lora"), per_device_train_batch_size=8, max_steps=2, report_to="none",
                             save_strategy="no", use_cpu=True, learning_rate=1e-2)
    Trainer(model=peft_model, args=args, train_dataset=posts(tokenizer),
            data_collator=DataCollatorWithPadding(tokenizer)).train()
    trained_lstm = peft_model.base_model.model.lstm.modules_to_save["default"].weight_ih_l0
    assert not torch.equal(trained_lstm, lstm_before)

    # merged into a plain folder: no pickle, publishable, and the same logits without depdetect
    peft_model.eval()
    batch = tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = peft_model(**batch).logits
    folder = save_for_hub(peft_model, tmp_path / "merged", tokenizer)
    assert not list(folder.glob("*.bin")) and "model.safetensors" in publishable_files(folder)
    result = fresh_process(FRESH, tmp_path, str(folder), json.dumps(TEXTS[:3]))
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, atol=1e-5, rtol=1e-4)
    assert result["detection"]["label"] in ("depression", "control") and not result["depdetect_loaded"]


def test_lora_config_refuses_what_peft_would_get_wrong(tokenizer):
    with pytest.raises(ValueError, match="no pretrained encoder named"):
        lora_config(hybrid(tokenizer), encoders=["decoder"])
    with pytest.raises(ValueError, match="ends in"):
        lora_config(hybrid(tokenizer), target_modules=["q_proj"])
    data = interviews(tokenizer)
    with pytest.raises(ValueError, match="Train this model without PEFT"):
        lora_config(dual(tokenizer, data))


def test_a_trainer_save_model_folder_runs_in_a_pipeline_and_push_names_the_pickle_it_refuses(tokenizer, tmp_path):
    model = hybrid(tokenizer)
    args = TrainingArguments(str(tmp_path / "out"), per_device_train_batch_size=8, gradient_accumulation_steps=2,
                             num_train_epochs=1, report_to="none", save_strategy="no", use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=posts(tokenizer), processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer))
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    assert (tmp_path / "saved" / "training_args.bin").is_file()
    with pytest.raises(ValueError, match=r"training_args.bin is transformers.Trainer's pickled arguments"):
        publishable_files(tmp_path / "saved")
    (tmp_path / "saved" / "training_args.bin").unlink()
    assert "model.safetensors" in publishable_files(tmp_path / "saved")
    result = fresh_process(FRESH, tmp_path, str(tmp_path / "saved"), json.dumps(TEXTS[:2]))
    model.eval()
    with torch.no_grad():
        expected = model(**tokenizer(TEXTS[:2], padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, atol=1e-5, rtol=1e-4)


def readme_block(heading_line: str) -> str:
    """The python block that follows `heading_line` (a line of README.md) first."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = readme[readme.index(heading_line):]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def run_readme_block(code: str, replacements: dict[str, str], folder: Path) -> None:
    for old, new in replacements.items():
        assert old in code, f"the README example no longer holds {old!r}: update this test with it"
        code = code.replace(old, new)
    cwd = os.getcwd()
    os.chdir(folder)  # the example writes runs/ and its folder where it runs
    try:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)


def test_the_readmes_trainer_and_peft_example_runs_and_its_folder_loads_without_depdetect(
    tiny_encoder_dir, posts_files, tmp_path
):
    code = readme_block("### Fine-tuning with transformers' Trainer and PEFT")
    run_readme_block(code, {'"sentence-transformers/all-MiniLM-L6-v2"': repr(tiny_encoder_dir),
                            '"train.csv"': repr(posts_files["train"]), "num_train_epochs=3": "max_steps=2",
                            'report_to="none"': 'report_to="none", use_cpu=True'}, tmp_path)
    result = fresh_process(FRESH, tmp_path, str(tmp_path / "my-hybrid"), json.dumps(TEXTS[:2]))
    assert result["detection"]["label"] in ("control", "depression") and not result["depdetect_loaded"]


def test_the_readmes_dual_encoder_trainer_example_runs(tiny_encoder_dir, esconv_jsonl, tmp_path):
    from transformers import pipeline

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme_block(readme[readme.index("The dual encoder under `Trainer`"):].splitlines()[0])
    run_readme_block(code, {'"sentence-transformers/all-MiniLM-L6-v2"': repr(tiny_encoder_dir),
                            '"interviews.jsonl"': repr(esconv_jsonl), "num_train_epochs=3": "max_steps=2",
                            'report_to="none"': 'report_to="none", use_cpu=True'}, tmp_path)
    scorer = pipeline("depression-scoring", model=str(tmp_path / "my-dual-encoder"), trust_remote_code=True)
    out = scorer([{"prompt": "How are you?", "response": "Tired, every day."}])
    assert out["severity"] == out["severity"] and len(out["turns"]) == 1


def test_save_for_hub_merges_lora_put_on_the_encoder_alone(tokenizer, tmp_path):
    """depdetect's --lora_r path wraps the encoder only (model.encoder is a PeftModel): saved merged all the same."""
    from peft import LoraConfig, get_peft_model

    model = hybrid(tokenizer)
    model.encoder = get_peft_model(model.encoder, LoraConfig(r=4, target_modules=["query", "value"]))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_()  # LoRA starts as a no-op; make it count
    model.eval()
    batch = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits
    folder = save_for_hub(model, tmp_path / "merged", tokenizer)
    again = HybridForSequenceClassification.from_pretrained(folder).eval()
    assert not any("lora" in name for name, _ in again.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(again(**batch).logits, expected, atol=1e-5, rtol=1e-4)
