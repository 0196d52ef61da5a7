"""Output paths never destroy what a command reads (issue 23, finding 1): an output that is the input file, lies
inside the model folder, or is another output of the same run is refused before any work, with exit code 2, and
the input and the model are left byte for byte as they were."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from depdetect.cli import main
from depdetect.utils import check_outputs


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@pytest.fixture
def texts(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in ("I feel empty.", "Lovely walk today.")),
                    encoding="utf-8")
    return path


def refused(argv: list[str], capsys, *untouched: Path) -> str:
    before = [digest(p) for p in untouched]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert [digest(p) for p in untouched] == before, "a file the command reads changed"
    return capsys.readouterr().err


@pytest.mark.parametrize("flag", ["-o", "--html"])
def test_predict_refuses_to_write_over_its_input(models, texts, capsys, flag):
    err = refused(["predict", str(models["hybrid"]), str(texts), flag, str(texts)], capsys, texts, models["hybrid"])
    assert f"{flag} {texts} is the input file" in err and "Choose another output path" in err


def test_predict_refuses_an_output_inside_the_model_folder(models, texts, capsys):
    target = models["hybrid"] / "config.json"
    err = refused(["predict", str(models["hybrid"]), str(texts), "-o", str(target)], capsys, models["hybrid"])
    assert "lies inside the model folder" in err and "no longer load" in err


def test_predict_refuses_the_same_path_for_the_predictions_and_the_report(models, texts, capsys, tmp_path):
    out = tmp_path / "out.html"
    err = refused(["predict", str(models["hybrid"]), str(texts), "-o", str(out), "--html", str(out)], capsys, texts)
    assert "-o and --html name the same path" in err and not out.exists()


def test_a_symbolic_link_to_the_input_is_the_input(models, texts, capsys, tmp_path):
    link = tmp_path / "link.jsonl"
    link.symlink_to(texts)
    err = refused(["predict", str(models["hybrid"]), str(texts), "-o", str(link)], capsys, texts)
    assert "is the input file" in err


def test_evaluate_refuses_metrics_or_plots_inside_the_model_folder(models, capsys, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps({"text": "I feel empty.", "label": 1}) + "\n", encoding="utf-8")
    folder = models["hybrid"]
    err = refused(["evaluate", str(folder), str(data), "-o", str(folder / "evaluation.json")], capsys, folder)
    assert "-o" in err and "lies inside the model folder" in err
    err = refused(["evaluate", str(folder), str(data), "-o", str(tmp_path / "e.json"), "--plots_dir",
                   str(folder / "plots")], capsys, folder)
    assert "--plots_dir" in err and "lies inside the model folder" in err
    err = refused(["evaluate", str(folder), str(data), "-o", str(data)], capsys, data)
    assert "is the data" in err


def test_predict_early_refuses_to_write_over_the_validation_users(models, capsys, tmp_path):
    users = tmp_path / "users.jsonl"
    users.write_text(json.dumps({"user_id": "u", "posts": ["a post"], "label": 1}) + "\n", encoding="utf-8")
    err = refused(["predict", str(models["doris"]), str(users), "--early", "--validation", str(users), "-o",
                   str(users)], capsys, users)
    assert "is the input file" in err


def test_outputs_elsewhere_are_accepted(tmp_path):
    check_outputs({"-o": tmp_path / "out.jsonl", "--html": tmp_path / "report.html"},
                  {"the input file": tmp_path / "in.jsonl"}, {"the model folder": tmp_path / "model"})
    check_outputs({"-o": None, "--html": "-"}, {"the input file": "-"}, {"the model folder": None})


def files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


# -- disk full: one line naming the path, the previous output left whole (issue 23, finding 8) ----------------------

DISK_FULL = "Error while serializing: I/O error: No space left on device (os error 28)"  # what safetensors raises


class SafetensorLikeError(Exception):
    """Stands for safetensors' own error type (not an OSError) on a full disk."""


@pytest.mark.parametrize("where", ["depdetect.training.save_model",  # the best epoch's weights
                                   "depdetect.HybridForSequenceClassification.save_pretrained"])  # the final folder
def test_a_full_disk_while_training_saves_is_one_line_and_the_previous_model_stays(tmp_path, tiny_encoder_dir,
                                                                                  posts_files, capsys, monkeypatch,
                                                                                  where):
    from .test_train import args as hybrid_args

    out = tmp_path / "run"
    main(hybrid_args(tiny_encoder_dir, posts_files, out, "--max_steps", "1", "--checkpointing_steps", "0"))
    before = files(out)
    capsys.readouterr()

    def full(*args, **kwargs):
        raise SafetensorLikeError(DISK_FULL)

    monkeypatch.setattr(where, full)
    with pytest.raises(SystemExit) as exit_info:
        main(hybrid_args(tiny_encoder_dir, posts_files, out, "--max_steps", "1", "--checkpointing_steps", "0",
                         "--overwrite_output_dir"))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and "Traceback" not in "\n".join(err)
    assert "the disk is full" in err[-1] and str(out) in err[-1]
    after = files(out)  # the previous model whole (the failed run's checkpoints stay beside it, to resume from)
    assert {name: after.get(name) for name in before} == before


def test_a_full_disk_while_doris_saves_names_the_folder_and_keeps_the_old_one(models, tmp_path, monkeypatch):
    import xgboost

    from depdetect import DorisPipeline

    folder = tmp_path / "doris"
    shutil.copytree(models["doris"], folder)
    before = digest(folder)
    pipeline = DorisPipeline.from_pretrained(folder)

    def full(self, fname):
        raise xgboost.core.XGBoostError(f"[12:00:00] ../src/common/io.cc:120: {DISK_FULL}\nStack trace: ...")

    monkeypatch.setattr(xgboost.Booster, "save_model", full)
    with pytest.raises(OSError) as error:
        pipeline.save_pretrained(folder)
    assert error.value.errno == errno.ENOSPC and str(folder) in str(error.value.filename)
    assert digest(folder) == before
