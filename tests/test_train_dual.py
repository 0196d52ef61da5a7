from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from depdetect.cli import main
from depdetect.utils import json_safe


def dual_args(encoder, data, out, *extra):
    """`depdetect train dual-encoder` flags for a tiny, quick run."""
    return ["train", "dual-encoder", "--encoder", encoder, "--train_file", data, "--output_dir", str(out),
            "--max_length", "48", "--prefix_length", "2", "--projection_size", "8", "--lstm_hidden_size", "4",
            "--batch_size", "4", "--num_epochs", "2", *extra]


def test_mhim_trains_donor_then_receiver_and_saves_both(tiny_encoder_dir, esconv_jsonl, tmp_path, capsys):
    out = tmp_path / "run"
    results = main(
        dual_args(tiny_encoder_dir, esconv_jsonl, out, "--mhim", "--mask_top", "1", "--mask_bottom", "1")
    ).metrics
    for role in ("donor", "receiver"):
        folder = out / role
        for name in ("model.safetensors", "config.json", "modeling_dual_encoder.py", "configuration_dual_encoder.py",
                     "pipeline_dual_encoder.py", "tokenizer.json", "metrics.json", "README.md"):
            assert (folder / name).is_file(), f"{role}/{name}"
        saved = json.loads((folder / "metrics.json").read_text())
        assert set(saved["test"]) >= {"rmse", "mae", "attention_entropy", "recall@10%", "recall@30%", "recall@50%"}
        assert (
            saved["test"]["recall_interviews_skipped"] == 6 and saved["test"]["recall@10%"] is None
        )  # ESConv: no labels
        assert "Not a diagnostic tool" in (folder / "README.md").read_text()
        assert config_custom_pipeline(folder) == "depression-scoring"
        assert set(saved["faithfulness"]) == {"attention", "occlusion", "random", "settings"}
        assert {"whole_interviews", "responses_only", "prompts_only"} <= set(saved["audit"])
    assert not (out / "checkpoints").exists()
    assert results["receiver_entropy_higher"] == (
        results["receiver"]["test"]["attention_entropy"] > results["donor"]["test"]["attention_entropy"]
    )
    printed = capsys.readouterr().out
    assert "Receiver attention entropy higher" in printed
    assert (
        f"Saved the Hub-ready model folder to {out / 'receiver'}" in printed and "Next: depdetect predict" in printed
    )
    # how the receiver was trained is part of its config (and so of its Hub repo); the donor has none
    receiver_config = json.loads((out / "receiver" / "config.json").read_text())
    assert receiver_config["mhim"] == {"mask_top": 1.0, "mask_bottom": 1.0, "teacher": "frozen", "ema_decay": 0.999,
                                       "receiver_init": "donor", "receiver_epochs": 2}
    assert json.loads((out / "donor" / "config.json").read_text())["mhim"] is None


def config_custom_pipeline(folder: Path) -> str:
    return next(iter(json.loads((folder / "config.json").read_text())["custom_pipelines"]))


def test_ema_teacher_and_fresh_receiver_run(tiny_encoder_dir, esconv_jsonl, tmp_path):
    results = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "ema", "--mhim", "--teacher", "ema",
                             "--receiver_init", "fresh", "--num_epochs", "1", "--no_faithfulness",
                             "--no_audit")).metrics
    donor, receiver = results["donor"]["test"], results["receiver"]["test"]
    assert receiver["rmse"] > 0 and receiver["rmse"] != donor["rmse"]  # a separately initialised, trained model
    assert not {"faithfulness", "audit"} & set(results["receiver"])  # skipped when asked
    card = (tmp_path / "ema" / "receiver" / "README.md").read_text()
    assert "Faithfulness was not measured for this folder" in card


def test_folds_report_mean_and_std_over_folds(tiny_encoder_dir, esconv_jsonl, tmp_path):
    out = tmp_path / "cv"
    results = main(dual_args(tiny_encoder_dir, esconv_jsonl, out, "--folds", "2", "--num_epochs", "1")).metrics
    saved = json.loads((out / "cv_metrics.json").read_text())
    assert saved["folds"] == 2 and len(saved["per_fold"]) == 2
    rmses = [fold["donor"]["test"]["rmse"] for fold in saved["per_fold"]]
    assert saved["summary"]["donor"]["rmse"]["mean"] == pytest.approx(sum(rmses) / 2)
    assert saved["summary"]["donor"]["rmse"]["std"] == pytest.approx(abs(rmses[0] - rmses[1]) / 2)
    assert json_safe(results["summary"]) == saved["summary"] and not (out / "donor").exists()


def test_classification_variant_reports_classification_metrics(tiny_encoder_dir, esconv_jsonl, tmp_path):
    results = main(
        dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "clf", "--num_labels", "2", "--num_epochs", "1")
    ).metrics
    assert {"f1", "auroc", "auprc", "attention_entropy"} <= set(results["donor"]["test"])


def test_killed_dual_encoder_run_resumes_to_the_same_result(tiny_encoder_dir, esconv_jsonl, tmp_path):
    common = ["--checkpointing_steps", "2", "--keep_checkpoints", "2"]
    full = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "full", *common)).metrics

    class Killed(RuntimeError):
        pass

    def kill(step):
        if step == 9:
            raise Killed

    with pytest.raises(Killed):
        main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "killed", *common), on_step=kill)
    resumed = main(
        dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "killed", *common, "--resume_from_checkpoint", "latest")
    ).metrics
    assert resumed["donor"]["test"] == pytest.approx(full["donor"]["test"], nan_ok=True)


def test_bad_folds_value_is_a_clear_error(tiny_encoder_dir, esconv_jsonl, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "x", "--folds", "1"))
    assert exit_.value.code == 2 and "--folds must be 0 (no cross-validation) or >= 2" in capsys.readouterr().err


def test_two_processes_gather_interviews_of_uneven_length(tiny_encoder_dir, esconv_jsonl, tmp_path):
    """The multi-process path (accelerate launch / torchrun) on two CPU processes: padded gathers, one writer."""
    import os
    import subprocess

    out = tmp_path / "ddp"
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(root / "train.py"),
        *dual_args(tiny_encoder_dir, esconv_jsonl, out, "--num_epochs", "1", "--mhim", "--cpu")[1:],
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("receiver test:") == 1
    saved = json.loads((out / "receiver" / "metrics.json").read_text())
    # 6 test interviews (15% of 40): every one scored once, none twice, in the recall bookkeeping
    assert saved["test"]["recall_interviews_skipped"] + saved["test"]["recall_interviews_scored"] == 6


def test_attention_learns_to_find_the_turn_that_decides_the_score(tiny_encoder_dir, tmp_path):
    """Synthetic interviews: one turn says how the person feels (and sets the score); the rest are small talk.
    After training, attention concentrates (entropy well below uniform) and Recall@k finds the deciding turn."""
    import math
    import random

    rng = random.Random(0)
    rows = []
    for i in range(80):
        sad = i % 2 == 0
        turns = [
            {
                "prompt": "how is it",
                "response": rng.choice(["the weather is mild", "we went to the shop", "it was a normal day"]),
                "importance": 0,
            }
            for _ in range(5)
        ]
        turns[rng.randrange(5)] = {"prompt": "how do you feel", "importance": 1,
                                   "response": "i feel sad and hopeless" if sad else "i feel great and happy"}
        rows.append({"interview_id": str(i), "score": 10.0 if sad else 0.0, "label": int(sad), "turns": turns})
    path = tmp_path / "synthetic.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    results = main(["train", "dual-encoder", "--encoder", tiny_encoder_dir, "--train_file", str(path), "--output_dir",
                    str(tmp_path / "out"), "--num_epochs", "10", "--learning_rate", "1e-2", "--max_length", "16",
                    "--prefix_length", "2", "--checkpointing_steps", "0"]).metrics
    test = results["donor"]["test"]
    assert test["recall_interviews_scored"] == 12 and test["recall_interviews_skipped"] == 0
    assert test["attention_entropy"] < math.log(5) - 0.4  # uniform attention over 5 turns: log 5 = 1.61
    assert test["recall@10%"] > 0.4  # the top turn is the deciding one far more often than chance (0.2)


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["train", "hybrid", "--mhim"], "--mhim"),
        (["train", "dual-encoder", "--lora_r", "4"], "--lora_r"),
        (["train", "hybrid", "--annotator", "openai:http://x#m"], "--annotator"),
        (["train", "doris", "--no_cnn"], "--no_cnn"),
    ],
)
def test_each_system_takes_only_its_own_flags(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and f"unrecognized arguments: {flag}" in capsys.readouterr().err
