"""The saved folder must work where depdetect is not installed: imports, model, both pipelines."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from depdetect import DepressionDetectionPipeline

PACKAGE = Path(__file__).resolve().parents[1] / "depdetect"
REMOTE_FILES = sorted(
    p for pattern in ("modeling_*.py", "configuration_*.py", "pipeline_*.py") for p in PACKAGE.glob(pattern)
)
ALLOWED = {"torch", "transformers", "__future__", "typing", "dataclasses", "contextlib", "math", "collections"}


@pytest.mark.parametrize("path", REMOTE_FILES, ids=lambda p: p.name)
def test_remote_code_files_import_only_torch_transformers_and_siblings(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                assert node.module and (PACKAGE / f"{node.module}.py").is_file(), f"{path.name}: from .{node.module}"
                continue
            assert node.level == 0, f"{path.name} imports from a parent package"
            roots = [node.module.split(".")[0]]
        else:
            continue
        assert set(roots) <= ALLOWED, f"{path.name} imports {roots}"


# what a user without depdetect has: importing it fails, and neither the repo nor its tests are on sys.path
NO_DEPDETECT = textwrap.dedent(
    """
    import importlib.abc, json, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "depdetect" or name.startswith("depdetect."):
                raise ImportError("depdetect is not importable here")
    sys.meta_path.insert(0, Block())
    sys.path = [p for p in sys.path if p not in ("", ".") and "depdetect" not in p]
    """
)
FRESH = NO_DEPDETECT + textwrap.dedent(
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    folder, texts = sys.argv[1], json.loads(sys.argv[2])
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    with torch.no_grad():
        logits = model(**tok(texts, padding=True, return_tensors="pt")).logits
    detect = pipeline("depression-detection", model=folder, trust_remote_code=True)
    classify = pipeline("text-classification", model=folder, trust_remote_code=True)
    print("RESULT " + json.dumps({
        "logits": logits.tolist(),
        "detection": detect(texts[0]),
        "classification": classify(texts[0]),
        "depdetect_loaded": [m for m in sys.modules if m.startswith("depdetect")],
        "model_module": type(model).__module__,
    }))
    """
)


def test_saved_folder_loads_in_a_fresh_process_without_depdetect(tiny_model, tokenizer, tmp_path):
    folder = tmp_path / "model"
    DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer).save_pretrained(str(folder))
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModelForSequenceClassification"] == "modeling_hybrid.HybridForSequenceClassification"
    assert "depression-detection" in config["custom_pipelines"]
    texts = ["I feel lost and hopeless", "We bought a new car for the school run"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", FRESH, str(folder), json.dumps(texts)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["depdetect_loaded"] == [] and result["model_module"].startswith("transformers_modules.")
    with torch.no_grad():
        expected = tiny_model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, atol=1e-5, rtol=1e-4)
    local = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)(texts[0])
    assert result["detection"]["label"] == local["label"]
    assert [t["token"] for t in result["detection"]["tokens"]] == ["I", "feel", "lost", "and", "hopeless"]
    assert abs(result["detection"]["score"] - local["score"]) < 1e-5
    assert result["classification"][0]["label"] == local["label"]


FRESH_SCORING = NO_DEPDETECT + textwrap.dedent(
    """
    from transformers import AutoModel, pipeline
    folder, turns = sys.argv[1], json.loads(sys.argv[2])
    model = AutoModel.from_pretrained(folder, trust_remote_code=True)
    scorer = pipeline("depression-scoring", model=folder, trust_remote_code=True)
    print("RESULT " + json.dumps({
        "single": scorer(turns),
        "row": scorer({"interview_id": "x", "turns": turns, "score": 3.0}),
        "batch": scorer([{"turns": turns}, {"turns": turns[:1]}], batch_size=2),
        "model": type(model).__name__,
        "depdetect_loaded": [m for m in sys.modules if m.startswith("depdetect")],
    }))
    """
)


def test_saved_dual_encoder_scores_in_a_fresh_process_without_depdetect(tokenizer, tmp_path):
    from depdetect import DepressionScoringPipeline, DualEncoderConfig, DualEncoderForDepressionScoring

    from .conftest import TINY_BERT

    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, score_mean=10.0, score_std=5.0)).eval()
    folder = tmp_path / "scorer"
    local = DepressionScoringPipeline(model=model, tokenizer=tokenizer)
    local.save_pretrained(str(folder))
    turns = [{"prompt": "How have you been sleeping?", "response": "Badly."}, {"prompt": "", "response": "I feel flat."}]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", FRESH_SCORING, str(folder), json.dumps(turns)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["depdetect_loaded"] == [] and result["model"] == "DualEncoderForDepressionScoring"
    expected = local(turns)
    assert abs(result["single"]["score"] - expected["score"]) < 1e-4
    assert [t["response"] for t in result["single"]["turns"]] == ["Badly.", "I feel flat."]
    assert abs(sum(t["attention"] for t in result["single"]["turns"]) - 1) < 1e-5
    assert abs(result["row"]["score"] - expected["score"]) < 1e-4
    assert abs(result["batch"][0]["score"] - expected["score"]) < 1e-4 and result["batch"][1]["turns"][0]["attention"] == 1.0
