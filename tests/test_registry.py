"""The registry of systems (depdetect.systems): every system declares one SystemSpec, shared code asks it instead of
branching on names, and a fourth system is one folder plus one registration (shown with a length-based toy that
goes through `depdetect train`, `predict`, `evaluate` and `push`)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depdetect import systems
from depdetect.cli import main

from .hub_server import HubServer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "depdetect"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SYSTEM_FOLDERS = {spec.load("predictor").__name__.split(".")[1] for spec in systems.specs()}
NAMES = {name for spec in systems.specs() for name in (spec.name, spec.cli_name)}


def shared_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in
            SYSTEM_FOLDERS | {"evaluate_metrics"} and p.name != "systems.py"]


@pytest.mark.parametrize("spec", systems.specs(), ids=lambda s: s.name)
def test_every_part_a_spec_names_loads_and_the_predictor_has_the_protocol(spec):
    for part in ("arguments", "trainer", "card"):
        assert callable(spec.load(part)), part
    predictor = spec.load("predictor")
    for name in ("load_predictor", "check_record", "predict", "score_predictions", "evaluation_inputs"):
        assert callable(getattr(predictor, name)), f"{spec.predictor} lacks {name}"
    assert callable(spec.load("views").html_section) and callable(spec.load("views").demo_tab)
    assert spec.early is None or callable(spec.load("early"))
    assert systems.get(spec.cli_name) is spec and spec.units == spec.unit + "s"
    if spec.explanations:  # what --faithfulness, --audit and --explain need
        for name in ("attributions", "unit_scorer", "audit"):
            assert callable(getattr(predictor, name)), f"{spec.predictor} lacks {name}"
        assert spec.explanation_unit and spec.unit_removal


def test_no_shared_module_branches_on_a_systems_name():
    found = []
    for path in shared_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in NAMES
                                                     for c in [node.left, *node.comparators]):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Dict) and sum(isinstance(k, ast.Constant) and k.value in NAMES
                                                  for k in node.keys) >= 2:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} (a per-system table)")
    assert not found, "ask the registry instead: " + ", ".join(found)


def test_shared_modules_reach_system_folders_only_through_the_registry():
    found = []
    for path in shared_modules():
        depth = len(path.relative_to(PACKAGE).parts) - 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = (node.module or "").split(".")
                if node.level:  # relative: strip the parent packages the dots climb
                    top = target[0] if node.level - 1 == depth else None
                else:
                    top = target[1] if target[0] == "depdetect" and len(target) > 1 else None
                if top in SYSTEM_FOLDERS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "import it through the registry (a spec's import path) instead: " + ", ".join(found)


def test_a_folder_of_an_unknown_model_type_is_refused_naming_the_known_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="depdetect_hybrid"):
        systems.folder_spec(tmp_path)


def test_a_spec_needs_one_way_to_recognise_its_folders():
    with pytest.raises(ValueError, match="exactly one of `model_type` and `marker_file`"):
        systems.SystemSpec(name="x", cli_name="x", unit="text", paper=("", ""), description="", arguments="",
                           trainer="", predictor="", card="", views="")


def test_a_clashing_system_is_refused():
    spec = systems.get("hybrid")
    clash = systems.SystemSpec(**{**spec.__dict__, "name": "another"})
    with pytest.raises(ValueError, match="clashes with 'hybrid'"):
        systems.register(clash)


# -- a fourth system, added as one folder (tests/fixtures/toy_lengths) and one registration -----------------------


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    import toy_lengths

    systems.register(toy_lengths.SPEC)
    yield toy_lengths.SPEC
    systems.unregister(toy_lengths.SPEC.name)


def write_posts(path: Path) -> Path:
    rows = [("I feel so tired and empty every single day and nothing helps", "depression"),
            ("I cannot sleep, I cry at night and I do not see the point of anything", "depression"),
            ("Nice weather today", "control"), ("Bought a new bike", "control"), ("Lunch was great", "control")]
    path.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="utf-8")
    return path


def test_a_toy_system_trains_predicts_evaluates_and_publishes_through_the_normal_commands(toy, tmp_path, capsys):
    data = write_posts(tmp_path / "posts.csv")
    out = tmp_path / "toy"
    result = main(["train", "toy-lengths", "--train_file", str(data), "--output_dir", str(out)])
    assert result.metrics["train"]["accuracy"] == 1.0
    assert systems.folder_kind(out) == "toy_lengths"
    assert f"Saved the Hub-ready model folder to {out}" in capsys.readouterr().out

    rows = main(["predict", str(out), str(data), "-o", str(tmp_path / "p.jsonl"), "--html", str(tmp_path / "p.html")])
    assert [r["label"] for r in rows] == ["depression", "depression", "control", "control", "control"]
    assert rows[0]["record"].endswith(":2") and rows[0]["words"] == 12
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "12 words" in page and "5 texts" in page  # the toy's own section, titled by its unit

    evaluation = main(["evaluate", str(out), str(data), "-o", str(tmp_path / "e.json"), "--no_plots"])
    assert evaluation["system"] == "toy_lengths" and evaluation["metrics"]["accuracy"] == 1.0

    with HubServer() as hub:
        script = ("import sys; sys.path.insert(0, sys.argv[1]); import toy_lengths; from depdetect import systems; "
                  "systems.register(toy_lengths.SPEC); from depdetect.cli import main; main(sys.argv[2:])")
        env = {**os.environ, **hub.client_env(str(tmp_path / "home"))}
        pushed = subprocess.run([sys.executable, "-c", script, str(FIXTURES), "push", str(out), "tester/toy"],
                                env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        files = hub.files("tester/toy")
    assert set(files) == {"toy_config.json", "metrics.json", "README.md"}
    assert b"Not a diagnostic tool" in files["README.md"]


def test_the_toy_has_no_early_risk_detection_and_says_which_systems_do(toy, tmp_path):
    data = write_posts(tmp_path / "posts.csv")
    main(["train", "toy-lengths", "--train_file", str(data), "--output_dir", str(tmp_path / "toy")])
    users = tmp_path / "users.jsonl"
    users.write_text(json.dumps({"user_id": "u", "posts": ["a post"], "label": 1}) + "\n")
    with pytest.raises(SystemExit):
        main(["predict", str(tmp_path / "toy"), str(users), "--early"])


def test_a_system_without_explanations_says_so_when_asked_to_check_them(toy, tmp_path, capsys):
    data = write_posts(tmp_path / "posts.csv")
    main(["train", "toy-lengths", "--train_file", str(data), "--output_dir", str(tmp_path / "toy")])
    for extra in (["--faithfulness"], ["--audit"]):
        with pytest.raises(SystemExit):
            main(["evaluate", str(tmp_path / "toy"), str(data), "-o", str(tmp_path / "e.json"), *extra])
        assert "has no explanation methods" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", str(tmp_path / "toy"), str(data), "--explain", "nas"])
    assert "has no explanation methods to choose from" in capsys.readouterr().err
    assert "## Explanations" not in (tmp_path / "toy" / "README.md").read_text()


def test_the_folder_of_an_unfinished_run_says_so_and_how_to_resume(tmp_path):
    (tmp_path / "checkpoints" / "step_10").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step_10" / "optimizer.bin").write_bytes(b"\0" * (3 * 2**20))
    (tmp_path / "depdetect_run.json").write_text("{}")
    with pytest.raises(ValueError, match=r"a training run that did not finish.*\(3 MB\).*--resume_from_checkpoint "
                                         "latest.*delete its checkpoints/") as err:
        systems.folder_spec(tmp_path)
    assert "Pass the folder training wrote" not in str(err.value)
