from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

from depdetect.cli import main
from depdetect.metrics import classification_metrics


def args(encoder, files, out, *extra):
    """`depdetect train hybrid` flags for a tiny, quick run."""
    return [
        "train", "hybrid", "--encoder", encoder,
        "--train_file", files["train"], "--validation_file", files["validation"], "--test_file", files["test"],
        "--output_dir", str(out), "--batch_size", "4", "--eval_batch_size", "8", "--max_length", "48",
        "--lstm_hidden_size", "8", "--cnn_num_filters", "4", "--fc_hidden_size", "16",
        "--show_examples", "0", *extra,
    ]


def test_main_writes_a_hub_ready_folder_whose_model_reproduces_the_test_metrics(
    tiny_encoder_dir, posts_files, tmp_path
):
    out = tmp_path / "run"
    metrics = main(args(tiny_encoder_dir, posts_files, out, "--num_epochs", "2", "--checkpointing_steps", "0")).metrics
    for name in ("model.safetensors", "config.json", "modeling_hybrid.py", "configuration_hybrid.py",
                 "pipeline_hybrid.py", "tokenizer.json", "metrics.json", "README.md"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoints").exists()  # a finished run leaves only what can be published
    assert not [p for p in out.rglob("*") if p.suffix in {".bin", ".pkl", ".pt", ".pth"}]
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["epochs_run"] == 2 and len(saved["validation_history"]) == 2
    assert saved["num_examples"] == {"train": 24, "validation": 8, "test": 8}
    card = (out / "README.md").read_text()
    assert "Not a diagnostic tool" in card and "## Intended use" in card and "## Limitations" in card
    assert f"| f1 | {saved['test']['f1']:.4f} |" in card
    # the explanations are checked on the test split and the card reports it (issue 24)
    faith = saved["faithfulness"]
    assert set(faith) == {"nas", "awvti", "integrated_gradients", "occlusion", "random", "settings"}
    assert faith["settings"]["records"] == 8 and saved["explanation_checks_seconds"] > 0
    assert saved["audit"]["label_words"]["metrics"]["auprc"]["before"] == pytest.approx(saved["test"]["auprc"])
    assert "## Explanations" in card and "| integrated_gradients |" in card and "Label words deleted" in card

    # the saved folder is the best epoch's model: reloading it gives the recorded test metrics
    assert saved["test"] == pytest.approx(metrics["test"])
    recorded_metrics_match_a_reload(out, posts_files["test"])


class Killed(RuntimeError):
    pass


def test_a_run_killed_mid_epoch_resumes_to_the_same_result(tiny_encoder_dir, posts_files, tmp_path):
    common = ["--num_epochs", "2", "--checkpointing_steps", "2", "--keep_checkpoints", "2"]
    full = main(args(tiny_encoder_dir, posts_files, tmp_path / "full", *common)).metrics

    def kill_at_step_9(step):
        if step == 9:  # 6 steps per epoch: the run dies in the middle of epoch 2, after the step-8 checkpoint
            raise Killed

    with pytest.raises(Killed):
        main(args(tiny_encoder_dir, posts_files, tmp_path / "killed", *common), on_step=kill_at_step_9)
    assert (tmp_path / "killed" / "checkpoints" / "step_8").is_dir()
    resumed = main(
        args(tiny_encoder_dir, posts_files, tmp_path / "killed", *common, "--resume_from_checkpoint", "latest")
    ).metrics

    assert len(resumed["validation_history"]) == len(full["validation_history"]) == 2
    for got, expected in zip(resumed["validation_history"], full["validation_history"]):
        assert got.pop("train_seconds") > 0 and expected.pop("train_seconds") > 0  # wall time: differs
        assert got == pytest.approx(expected)
    assert resumed["test"] == pytest.approx(full["test"])
    a = load_file(tmp_path / "full" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=name)


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_encoder_dir, posts_files, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args(tiny_encoder_dir, posts_files, tmp_path / "none", "--resume_from_checkpoint", "latest"))
    assert exit_.value.code == 2 and "No checkpoint to resume from" in capsys.readouterr().err


def test_lora_trains_adapters_and_saves_a_merged_plain_model(tiny_encoder_dir, posts_files, tmp_path):
    out = tmp_path / "lora"
    main(
        args(
            tiny_encoder_dir, posts_files, out, "--lora_r", "4", "--max_steps", "3", "--encoder_learning_rate", "1e-2"
        )
    )
    weights = load_file(out / "model.safetensors")
    assert not [k for k in weights if "lora" in k or "base_model" in k]
    original = AutoModel.from_pretrained(tiny_encoder_dir).state_dict()
    query = "layer.0.attention.self.query.weight"
    ffn = "layer.0.intermediate.dense.weight"
    trained_query = next(v for k, v in weights.items() if k.endswith(query))
    trained_ffn = next(v for k, v in weights.items() if k.endswith(ffn))
    assert not torch.allclose(trained_query, original[f"encoder.{query}"])  # LoRA update merged in
    torch.testing.assert_close(trained_ffn, original[f"encoder.{ffn}"])  # frozen outside the targets
    model = AutoModelForSequenceClassification.from_pretrained(out, trust_remote_code=True)
    assert type(model).__name__ == "HybridForSequenceClassification"


def test_bad_labels_in_a_file_fail_before_training(tiny_encoder_dir, posts_files, tmp_path, capsys):
    import pandas as pd

    frame = pd.read_csv(posts_files["train"])
    frame.loc[3, "label"] = 7
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    files = {**posts_files, "train": str(bad)}
    with pytest.raises(SystemExit) as exit_:
        main(args(tiny_encoder_dir, files, tmp_path / "bad"))
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "bad.csv:5 has label '7'" in err and "Traceback" not in err  # row 3 = line 5
    assert not (tmp_path / "bad").exists()


def test_bf16_mixed_precision_trains_and_keeps_float32_weights(tiny_encoder_dir, posts_files, tmp_path):
    out = tmp_path / "bf16"
    metrics = main(args(tiny_encoder_dir, posts_files, out, "--mixed_precision", "bf16", "--max_steps", "2")).metrics
    assert 0 <= metrics["test"]["accuracy"] <= 1
    weights = load_file(out / "model.safetensors")
    assert {v.dtype for v in weights.values()} == {torch.float32}


def recorded_metrics_match_a_reload(out: Path, test_file: str) -> None:
    """Reload the saved folder, score the test file, and compare with metrics.json."""
    import pandas as pd

    saved = json.loads((out / "metrics.json").read_text())
    model = AutoModelForSequenceClassification.from_pretrained(out, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(out)
    test = pd.read_csv(test_file)
    with torch.no_grad():
        enc = tok(test["text"].tolist(), padding=True, truncation=True, max_length=48, return_tensors="pt")
        probs = model(**enc).logits.softmax(-1).numpy()
    again = classification_metrics(probs, test["label"].to_numpy())
    for key in ("accuracy", "f1", "auroc", "auprc"):
        assert again[key] == pytest.approx(saved["test"][key], abs=1e-6), key


def test_progress_bars_draw_nothing_from_the_global_rng():
    """A DataLoader without its own generator draws a seed from the global torch RNG on each iter(); a progress bar
    that iterated on its own (tqdm.auto's console bar does) shifted every dropout mask trained after it."""
    from torch.utils.data import DataLoader

    from depdetect.training import progress

    loader = DataLoader(list(range(10)), batch_size=2)
    torch.manual_seed(0)
    assert [b.tolist() for b in progress(loader, desc="x")] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    after_progress = torch.random.get_rng_state()
    torch.manual_seed(0)
    list(loader)
    assert torch.equal(after_progress, torch.random.get_rng_state())
