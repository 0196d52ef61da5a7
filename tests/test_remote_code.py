"""Saved folders must work where depdetect is not installed: imports, model, pipelines, tokenizer; and folders
saved by earlier depdetect layouts must still load."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from depdetect import (
    DepressionDetectionPipeline,
    DepressionScoringPipeline,
    DualEncoderConfig,
    DualEncoderForDepressionScoring,
    HybridForSequenceClassification,
)

from .conftest import TINY_BERT

PACKAGE = Path(__file__).resolve().parents[1] / "depdetect"
SYSTEM_FOLDERS = ("hybrid", "dual_encoder")
REMOTE_FILES = sorted(
    p for folder in SYSTEM_FOLDERS
    for pattern in ("modeling_*.py", "configuration_*.py", "pipeline_*.py", "handler.py")
    for p in (PACKAGE / folder).glob(pattern)
)
ALLOWED = {
    "torch",
    "transformers",
    "__future__",
    "typing",
    "dataclasses",
    "contextlib",
    "math",
    "collections",
    "types",
    "json",
    "struct",
    "re",
    "os",
    "inspect",
    "warnings",
}
OLD_LAYOUT = Path(__file__).parent / "fixtures" / "old_layout"


def test_every_system_folder_has_its_remote_code_trio_and_endpoint_handler():
    assert [p.name for p in REMOTE_FILES] == [
        "configuration_dual_encoder.py", "handler.py", "modeling_dual_encoder.py", "pipeline_dual_encoder.py",
        "configuration_hybrid.py", "handler.py", "modeling_hybrid.py", "pipeline_hybrid.py",
    ]
    assert not list(PACKAGE.glob("modeling_*.py")) and not list(PACKAGE.glob("pipeline_*.py"))


@pytest.mark.parametrize("path", REMOTE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_remote_code_files_import_only_torch_transformers_and_siblings_in_their_folder(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                sibling = path.parent / f"{node.module}.py"
                assert node.module and "." not in node.module and sibling.is_file(), (
                    f"{path.name}: from .{node.module}"
                )
                assert sibling.name.startswith(("configuration_", "modeling_", "pipeline_", "handler")), sibling.name
                continue
            assert node.level == 0, f"{path.name} imports from a parent package"
            roots = [node.module.split(".")[0]]
        else:
            continue
        assert set(roots) <= ALLOWED, f"{path.name} imports {roots}"


# neither the repo nor its tests on sys.path; its virtual environment (which a plain `git clone` puts inside the
# folder named depdetect) stays, so the path is compared with the repo's, never searched for the word "depdetect"
HIDE_REPO = textwrap.dedent(
    f"""
    import os, sys
    _repo = {str(Path(__file__).resolve().parents[1])!r}
    def _in_repo(entry):
        real = os.path.realpath(entry or ".")
        return (real == _repo or real.startswith(_repo + os.sep)) and "site-packages" not in real
    sys.path = [p for p in sys.path if p not in ("", ".") and not _in_repo(p)]
    """
)
# what a user without depdetect has: importing it fails, and neither the repo nor its tests are on sys.path
NO_DEPDETECT = textwrap.dedent(
    """
    import importlib.abc, json, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "depdetect" or name.startswith("depdetect."):
                raise ImportError("depdetect is not importable here")
    sys.meta_path.insert(0, Block())
    """
) + HIDE_REPO
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


def fresh_process(script: str, tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_hiding_the_repo_keeps_a_virtual_environment_inside_a_folder_named_depdetect(tmp_path):
    """A plain `git clone` names the folder depdetect and the README puts .venv inside it: hiding the repo from a
    subprocess must keep that environment's site-packages (torch, transformers) and drop the repo and its tests."""
    repo = Path(__file__).resolve().parents[1]
    venv = tmp_path / "depdetect" / ".venv" / "lib" / "python3.11" / "site-packages"
    inside = repo / ".venv" / "lib" / "python3.11" / "site-packages"
    script = (f"import sys; sys.path[:0] = {[str(repo), str(repo / 'tests'), str(venv), str(inside)]!r}\n"
              + HIDE_REPO + "\nprint('RESULT ' + json.dumps(sys.path))")
    kept = fresh_process("import json\n" + script, tmp_path)
    assert str(venv) in kept and str(inside) in kept
    assert str(repo) not in kept and str(repo / "tests") not in kept


def test_a_model_saved_with_save_pretrained_alone_works_with_pipeline_without_depdetect(
    tiny_model, tokenizer, tmp_path
):
    folder = tmp_path / "model"
    tiny_model.save_pretrained(str(folder))  # the model alone: no pipeline object, no training run
    tokenizer.save_pretrained(str(folder))
    config = json.loads((folder / "config.json").read_text())
    assert (
        config["auto_map"]["AutoModelForSequenceClassification"] == "modeling_hybrid.HybridForSequenceClassification"
    )
    assert config["custom_pipelines"]["depression-detection"]["impl"] == "pipeline_hybrid.DepressionDetectionPipeline"
    assert {"modeling_hybrid.py", "configuration_hybrid.py", "pipeline_hybrid.py"} <= {
        p.name for p in folder.iterdir()
    }
    texts = ["I feel lost and hopeless", "We bought a new car for the school run"]
    result = fresh_process(FRESH, tmp_path, str(folder), json.dumps(texts))
    assert result["depdetect_loaded"] == [] and result["model_module"].startswith("transformers_modules.")
    with torch.no_grad():
        expected = tiny_model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, atol=1e-5, rtol=1e-4)
    local = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)(texts[0])
    assert result["detection"]["label"] == local["label"]
    assert [t["token"] for t in result["detection"]["tokens"]] == ["I", "feel", "lost", "and", "hopeless"]
    assert abs(result["detection"]["probability"] - local["probability"]) < 1e-5
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
TURNS = [{"prompt": "How have you been sleeping?", "response": "Badly."}, {"prompt": "", "response": "I feel flat."}]


def saved_dual_encoder(tokenizer, folder: Path):
    """A tiny dual encoder (seed 0) and the folder its own save_pretrained wrote, with the tokenizer."""
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, score_mean=10.0, score_std=5.0)).eval()
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return model, folder


def test_a_dual_encoder_saved_with_save_pretrained_alone_scores_without_depdetect(tokenizer, tmp_path):
    model, folder = saved_dual_encoder(tokenizer, tmp_path / "scorer")
    assert "depression-scoring" in json.loads((folder / "config.json").read_text())["custom_pipelines"]
    result = fresh_process(FRESH_SCORING, tmp_path, str(folder), json.dumps(TURNS))
    assert result["depdetect_loaded"] == [] and result["model"] == "DualEncoderForDepressionScoring"
    expected = DepressionScoringPipeline(model=model, tokenizer=tokenizer)(TURNS)
    assert abs(result["single"]["severity"] - expected["severity"]) < 1e-4
    assert [t["response"] for t in result["single"]["turns"]] == ["Badly.", "I feel flat."]
    assert abs(sum(t["attention"] for t in result["single"]["turns"]) - 1) < 1e-5
    assert abs(result["row"]["severity"] - expected["severity"]) < 1e-4
    assert abs(result["batch"][0]["severity"] - expected["severity"]) < 1e-4
    assert result["batch"][1]["turns"][0]["attention"] == 1.0


TOKENIZER = textwrap.dedent(
    """
    import json, sys
    from transformers import AutoTokenizer
    folder, how = sys.argv[1], sys.argv[2]
    if how == "registered":
        import depdetect.auto
    kwargs = {"trust_remote_code": True} if how == "trusted" else {}
    tok = AutoTokenizer.from_pretrained(folder, **kwargs)
    print("RESULT " + json.dumps({"class": type(tok).__name__, "ids": tok("I feel lost")["input_ids"]}))
    """
)


@pytest.mark.parametrize("how", ["trusted", "registered"])
def test_the_tokenizer_loads_without_a_trust_question(tiny_model, tokenizer, tmp_path, how):
    """transformers 5 reads config.json (custom code) before tokenizer_config.json, so a folder alone cannot stop
    AutoTokenizer from asking; with trust_remote_code, or with depdetect registered, it does not ask."""
    folder = tmp_path / "model"
    tiny_model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "BertTokenizer"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    done = subprocess.run([sys.executable, "-c", TOKENIZER, str(folder), how], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Do you wish to run the custom code" not in done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1][len("RESULT "):])
    assert result["ids"] == tokenizer("I feel lost")["input_ids"]


# -- folders saved before the per-system layout (depdetect 0.1: pipeline_depression.py) -------------------------


def test_old_layout_folders_hold_the_previous_file_names():
    for kind in ("hybrid", "dual_encoder"):
        config = json.loads((OLD_LAYOUT / kind / "config.json").read_text())
        assert next(iter(config["custom_pipelines"].values()))["impl"].startswith("pipeline_depression.")
        assert (OLD_LAYOUT / kind / "pipeline_depression.py").is_file()


def test_an_old_layout_hybrid_loads_with_todays_classes_and_gives_the_same_logits():
    from transformers import AutoTokenizer

    expected = json.loads((OLD_LAYOUT / "hybrid_expected.json").read_text())
    model = HybridForSequenceClassification.from_pretrained(OLD_LAYOUT / "hybrid").eval()
    tok = AutoTokenizer.from_pretrained(OLD_LAYOUT / "hybrid")
    with torch.no_grad():
        logits = model(**tok(expected["texts"], padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(logits, torch.tensor(expected["logits"]), atol=1e-5, rtol=1e-4)
    out = DepressionDetectionPipeline(model=model, tokenizer=tok)(expected["texts"][0])
    assert out["label"] == expected["pipeline"]["label"] and out["score"] == pytest.approx(
        expected["pipeline"]["score"]
    )
    assert [t["nas"] for t in out["tokens"]] == pytest.approx([t["nas"] for t in expected["pipeline"]["tokens"]])


def test_an_old_layout_dual_encoder_loads_with_todays_classes_and_gives_the_same_score():
    from transformers import AutoTokenizer

    expected = json.loads((OLD_LAYOUT / "dual_encoder_expected.json").read_text())
    model = DualEncoderForDepressionScoring.from_pretrained(OLD_LAYOUT / "dual_encoder").eval()
    scorer = DepressionScoringPipeline(
        model=model, tokenizer=AutoTokenizer.from_pretrained(OLD_LAYOUT / "dual_encoder")
    )
    out = scorer(expected["turns"])
    assert out["severity"] == pytest.approx(expected["pipeline"]["score"], abs=1e-5)
    assert [t["attention"] for t in out["turns"]] == pytest.approx(
        [t["attention"] for t in expected["pipeline"]["turns"]]
    )


def test_an_old_layout_hybrid_still_runs_its_own_remote_code_without_depdetect(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(OLD_LAYOUT / "hybrid", folder)
    expected = json.loads((OLD_LAYOUT / "hybrid_expected.json").read_text())
    result = fresh_process(FRESH, tmp_path, str(folder), json.dumps(expected["texts"]))
    torch.testing.assert_close(torch.tensor(result["logits"]), torch.tensor(expected["logits"]), atol=1e-5, rtol=1e-4)
    assert result["detection"]["label"] == expected["pipeline"]["label"]


def test_resaving_an_old_layout_folder_writes_todays_pipeline_file(tmp_path):
    model = HybridForSequenceClassification.from_pretrained(OLD_LAYOUT / "hybrid")
    model.save_pretrained(tmp_path / "again")
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    assert config["custom_pipelines"]["depression-detection"]["impl"] == "pipeline_hybrid.DepressionDetectionPipeline"
    assert (tmp_path / "again" / "pipeline_hybrid.py").is_file()


HANDLER = NO_DEPDETECT + textwrap.dedent(
    """
    import importlib.util
    folder, inputs = sys.argv[1], json.loads(sys.argv[2])
    spec = importlib.util.spec_from_file_location("handler", folder + "/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = module.EndpointHandler(folder)
    errors = {}
    for name, data in {"no_inputs": {"parameters": {}}, "empty": {"inputs": ""}, "not_a_dict": ["x"],
                       "bad_parameters": {"inputs": inputs, "parameters": [1]}}.items():
        try:
            handler(data)
        except (ValueError, TypeError) as error:
            errors[name] = str(error)
    print("RESULT " + json.dumps({
        "default": handler({"inputs": inputs}),
        "no_explain": handler({"inputs": inputs, "parameters": {"explain": False}}),
        "errors": errors,
        "depdetect_loaded": [m for m in sys.modules if m.startswith("depdetect")],
    }))
    """
)


def test_the_endpoint_handler_serves_a_saved_hybrid_without_depdetect(tiny_model, tokenizer, tmp_path):
    """Inference Endpoints' call shape: EndpointHandler(path)({"inputs": ..., "parameters": {...}})."""
    folder = tmp_path / "model"
    tiny_model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    assert (folder / "handler.py").is_file()
    text = "I feel lost and hopeless"
    result = fresh_process(HANDLER, tmp_path, str(folder), json.dumps(text))
    assert result["depdetect_loaded"] == []
    local = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)(text)
    assert result["default"]["label"] == local["label"]
    assert abs(result["default"]["probability"] - local["probability"]) < 1e-5
    assert [t["token"] for t in result["default"]["tokens"]] == ["I", "feel", "lost", "and", "hopeless"]
    assert "tokens" not in result["no_explain"]
    assert abs(result["no_explain"]["probability"] - local["probability"]) < 1e-5
    errors = result["errors"]
    assert set(errors) == {"no_inputs", "empty", "not_a_dict", "bad_parameters"}, errors
    assert "inputs" in errors["no_inputs"] and "empty" in errors["empty"].lower()
    assert '"parameters"' in errors["bad_parameters"]


def test_the_endpoint_handler_serves_a_saved_dual_encoder_without_depdetect(tokenizer, tmp_path):
    model, folder = saved_dual_encoder(tokenizer, tmp_path / "scorer")
    assert (folder / "handler.py").is_file()
    result = fresh_process(HANDLER, tmp_path, str(folder), json.dumps(TURNS))
    assert result["depdetect_loaded"] == []
    expected = DepressionScoringPipeline(model=model, tokenizer=tokenizer)(TURNS)
    assert abs(result["default"]["severity"] - expected["severity"]) < 1e-4
    assert [t["response"] for t in result["default"]["turns"]] == ["Badly.", "I feel flat."]
    assert abs(result["no_explain"]["severity"] - expected["severity"]) < 1e-4
    assert set(result["errors"]) == {"no_inputs", "empty", "not_a_dict", "bad_parameters"}, result["errors"]
