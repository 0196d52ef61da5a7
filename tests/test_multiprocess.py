"""Several processes on one CPU machine (gloo), as the README starts them (`torchrun --nproc_per_node 2 -m
depdetect.cli train ... --cpu`): each torch system gives the metrics one process gives on the same data and global
batch, and one folder is written by one process. Dropout is off (encoder, BiLSTM, head), so the two runs see the
same batches and compute the same gradients (each process takes half of a global batch; DDP averages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

from depdetect.cli import main

from .conftest import TINY_BERT
from .test_train import args as hybrid_args
from .test_train import recorded_metrics_match_a_reload

#: metrics compared between the runs (the continuous ones; the decisions follow from them)
CLOSE = 1e-4


@pytest.fixture(scope="module")
def still_encoder(tmp_path_factory, tokenizer) -> str:
    """The tiny BERT without dropout, saved with the MiniLM tokenizer."""
    path = tmp_path_factory.mktemp("still_encoder")
    config = BertConfig(**{k: v for k, v in TINY_BERT.items() if k != "model_type"}, vocab_size=tokenizer.vocab_size,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def two_processes(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node 2 -m depdetect.cli ARGV` (the README's command), on the CPU."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "depdetect.cli", *argv]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def assert_same_numbers(one: dict, two: dict, keys) -> None:
    for key in keys:  # metrics.json writes NaN (an undefined metric) as null
        expected, got = (float("nan") if v is None else v for v in (one[key], two[key]))
        assert got == pytest.approx(expected, abs=CLOSE, nan_ok=True), key


def test_two_hybrid_processes_give_one_process_metrics_and_write_one_folder(still_encoder, posts_files, tmp_path):
    still = ["--lstm_dropout", "0", "--classifier_dropout", "0", "--num_epochs", "2", "--cpu",
             "--checkpointing_steps", "0", "--no_faithfulness", "--no_audit"]
    single = main(hybrid_args(still_encoder, posts_files, tmp_path / "one", "--batch_size", "8", *still)).metrics
    done = two_processes(hybrid_args(still_encoder, posts_files, tmp_path / "two", "--batch_size", "4", *still),
                         tmp_path)
    double = json.loads((tmp_path / "two" / "metrics.json").read_text())
    # 24 training posts: 3 optimiser steps an epoch either way (8 per step: one process, or 4 on each of two)
    assert [h["step"] for h in double["validation_history"]] == [h["step"] for h in single["validation_history"]]
    for one, two in zip(single["validation_history"], double["validation_history"]):
        assert_same_numbers(one, two, [k for k in one if k.startswith("eval_") or k == "train_loss"])
    assert_same_numbers(single["test"], double["test"], ["auprc", "auroc", "f1", "accuracy"])
    assert_same_numbers(single["calibration"], double["calibration"], ["ece_before", "brier_before"])
    assert done.stdout.count("Saved the Hub-ready model folder") == 1  # only the main process writes
    recorded_metrics_match_a_reload(tmp_path / "two", posts_files["test"])


def interviews_files(folder: Path) -> dict[str, str]:
    """16 training, 8 validation and 8 test interviews (16 = two global batches of 8: no process pads its last)."""
    files = {}
    for split, count in (("train", 16), ("validation", 8), ("test", 8)):
        rows = []
        for i in range(count):
            low = (i + len(split)) % 2 == 0
            rows.append({"interview_id": f"{split}{i}", "score": float(3 + i % 3 if low else 14 + i % 5), "turns": [
                {"prompt": "How have you been sleeping?",
                 "response": "fine, most nights" if low else "badly, I wake at four " * (1 + i % 3)},
                {"prompt": "And your mood?", "response": "good" if low else "flat, nothing feels worth it"},
                *([{"prompt": "", "response": f"a day like {i}"}] if i % 2 else [])]})
        files[split] = str(folder / f"{split}.jsonl")
        Path(files[split]).write_text("\n".join(json.dumps(r) for r in rows))
    return files


def test_two_dual_encoder_processes_give_one_process_metrics_and_write_one_folder(still_encoder, tmp_path):
    data = interviews_files(tmp_path)

    def argv(out: Path, batch: str) -> list[str]:
        return ["train", "dual-encoder", "--encoder", still_encoder, "--train_file", data["train"],
                "--validation_file", data["validation"], "--test_file", data["test"], "--output_dir", str(out),
                "--max_length", "32", "--prefix_length", "2", "--projection_size", "8", "--lstm_hidden_size", "4",
                "--dropout", "0", "--num_epochs", "2", "--batch_size", batch, "--cpu", "--checkpointing_steps", "0"]

    single = main(argv(tmp_path / "one", "8")).metrics["donor"]
    done = two_processes(argv(tmp_path / "two", "4"), tmp_path)
    double = json.loads((tmp_path / "two" / "donor" / "metrics.json").read_text())
    assert [h["step"] for h in double["validation_history"]] == [h["step"] for h in single["validation_history"]]
    for one, two in zip(single["validation_history"], double["validation_history"]):
        assert_same_numbers(one, two, [k for k in one if k.startswith("eval_") or k == "train_loss"])
    assert_same_numbers(single["test"], double["test"], ["rmse", "mae", "attention_entropy"])
    assert done.stdout.count("donor test:") == 1
    assert sorted(p.name for p in (tmp_path / "two").iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in (tmp_path / "one").iterdir() if not p.name.startswith("."))
