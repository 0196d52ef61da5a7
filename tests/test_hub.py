"""Publishing through the real huggingface_hub / transformers / datasets clients, against the project's own
Hub-compatible server on localhost (tests/hub_server.py): push every system, load it back from a clean process,
check the card, and check failures and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from depdetect import systems
from depdetect.cli import main

from .hub_server import HubServer
from .test_remote_code import NO_DEPDETECT
from .test_train import args as hybrid_args
from .test_train_dual import dual_args

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["I feel lost and hopeless and I cannot sleep", "We went hiking on Sunday and the weather was lovely"]
TURNS = [{"prompt": "How have you been sleeping?", "response": "Badly, I wake at four and lie there."},
         {"prompt": "And your mood?", "response": "Flat, most days. Nothing seems worth it."}]


@pytest.fixture(scope="module")
def hub():
    with HubServer() as server:
        yield server


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_encoder_dir, tiny_sentence_transformer, posts_files, esconv_jsonl):  # noqa: F811
    root = tmp_path_factory.mktemp("outputs")
    main(
        hybrid_args(tiny_encoder_dir, posts_files, root / "hybrid", "--num_epochs", "1", "--checkpointing_steps", "0")
    )
    main(dual_args(tiny_encoder_dir, esconv_jsonl, root / "dual", "--num_epochs", "1"))
    main(["train", "doris", "--encoder", tiny_sentence_transformer, "--cohort_users", "200", "--n_estimators", "10",
          "--output_dir", str(root / "doris")])
    return {"hybrid": root / "hybrid", "dual_encoder": root / "dual" / "donor", "doris": root / "doris"}


def run(
    hub: HubServer, home: Path, argv: list[str], cwd: Path = ROOT, check: bool = True
) -> subprocess.CompletedProcess:
    env = {**os.environ, **hub.client_env(str(home))}
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise AssertionError(f"{argv} failed:\n{out.stdout}\n{out.stderr}")
    return out


def push(hub, home, folder, repo_id, *extra, check=True):
    return run(hub, home, [sys.executable, str(ROOT / "push_to_hub.py"), str(folder), repo_id, *extra], check=check)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def load_both(hub, home, clean, source: str, folder: Path, repo_id: str, revision: str | None = None) -> dict:
    """Run `source` in a clean process with `where` = the local folder, then = the repo id; return both outputs."""
    script = NO_DEPDETECT if "DorisPipeline" not in source else "import json, sys\n"
    script += textwrap.dedent(source)
    outputs = {}
    for name, where in (("local", str(folder)), ("hub", repo_id)):
        proc = run(hub, home, [sys.executable, "-c", script, where, json.dumps(revision)], cwd=clean)
        outputs[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return outputs


HYBRID_LOAD = """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    where, revision = sys.argv[1], json.loads(sys.argv[2])
    texts = TEXTS
    model = AutoModelForSequenceClassification.from_pretrained(where, revision=revision, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(where, revision=revision, trust_remote_code=True)
    with torch.no_grad():
        logits = model(**tok(texts, return_tensors="pt", padding=True)).logits.tolist()
    explained = pipeline(model=where, revision=revision, trust_remote_code=True)(texts)
    print(json.dumps({"logits": logits, "pipeline": explained}))
""".replace("TEXTS", repr(TEXTS))

DUAL_LOAD = """
    import torch
    from transformers import AutoModel, pipeline
    where, revision = sys.argv[1], json.loads(sys.argv[2])
    model = AutoModel.from_pretrained(where, revision=revision, trust_remote_code=True)
    scorer = pipeline(model=where, revision=revision, trust_remote_code=True)
    weights = sum(p.double().sum().item() for p in model.state_dict().values() if p.is_floating_point())
    print(json.dumps({"class": type(model).__name__, "weights": weights, "pipeline": scorer(TURNS)}))
""".replace("TURNS", repr(TURNS))

DORIS_LOAD = """
    from depdetect import DorisPipeline
    from depdetect.doris.data import rmhd_user_cohort
    where, revision = sys.argv[1], json.loads(sys.argv[2])
    doris = DorisPipeline.from_pretrained(where, revision=revision)
    users = rmhd_user_cohort(num_users=60, seed=8)["test"].to_list()
    print(json.dumps({"p": doris.predict_proba(users).tolist(), "label": doris.explain(users[0])["label"]}))
"""
LOADERS = {"hybrid": HYBRID_LOAD, "dual_encoder": DUAL_LOAD, "doris": DORIS_LOAD}
#: every registered system: each must have a trained folder in `folders` and a loader above
SYSTEMS = [spec.name for spec in systems.specs()]


@pytest.mark.parametrize("kind", SYSTEMS)
def test_a_pushed_folder_loads_from_the_hub_and_reproduces_the_local_outputs(hub, folders, kind, tmp_path):
    folder = folders[kind]
    before = digest(folder)
    repo_id = f"tester/{kind.replace('_', '-')}"
    out = push(hub, tmp_path / "home-push", folder, repo_id)
    assert "Published" in out.stdout
    assert digest(folder) == before, "the local folder changed"
    files = hub.files(repo_id)
    spec = systems.get(kind)
    expected = {"README.md", "metrics.json", *spec.artifacts, *spec.required_files}
    if spec.remote_code:
        expected |= {f"pipeline_{kind}.py", f"modeling_{kind}.py", f"configuration_{kind}.py"}
    assert expected <= set(files)
    assert not any(name.startswith("checkpoints") for name in files)
    clean = tmp_path / "clean"
    clean.mkdir()
    outputs = load_both(hub, tmp_path / "home-load", clean, LOADERS[kind], folder, repo_id)
    assert outputs["hub"] == outputs["local"]  # exactly the same numbers and explanations


def card_metadata(text: str) -> dict:
    import yaml

    return yaml.safe_load(text.split("---")[1])


@pytest.mark.parametrize("kind", SYSTEMS)
def test_the_published_card_carries_results_paper_limits_and_a_pinned_revision(hub, folders, kind, tmp_path):
    repo_id = f"tester/card-{kind.replace('_', '-')}"
    push(hub, tmp_path / "home", folders[kind], repo_id)
    card = hub.files(repo_id)["README.md"].decode()
    meta = card_metadata(card)
    metrics = json.loads((folders[kind] / "metrics.json").read_text())
    assert meta["license"] == "apache-2.0" and "depression-detection" in meta["tags"]
    assert meta["library_name"] == ("depdetect" if kind == "doris" else "transformers")
    results = {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    numeric = {k: v for k, v in metrics["test"].items() if isinstance(v, (int, float)) and k in results}
    assert numeric and all(results[k] == pytest.approx(v) for k, v in numeric.items())
    for phrase in ("Not a diagnostic tool", "Intended use", "Out-of-scope use", "## Data", "Reading the explanations",
                   "arxiv.org/abs/" if kind != "hybrid" else "IJECE", "torch"):
        assert phrase in card, phrase
    first_commit = hub.repos[("model", repo_id)].commits[hub.repos[("model", repo_id)].branches["main"]]["parent"]
    assert f'revision="{first_commit}"' in card  # the usage snippet is pinned to the commit holding the files
    validate = "from huggingface_hub import ModelCard; import sys; ModelCard(open(sys.argv[1]).read()).validate()"
    (tmp_path / "README.md").write_text(card)
    run(hub, tmp_path / "home", [sys.executable, "-c", validate, str(tmp_path / "README.md")])


def test_push_to_a_branch_and_load_that_revision(hub, folders, tmp_path):
    push(
        hub,
        tmp_path / "home",
        folders["hybrid"],
        "tester/branchy",
        "--revision",
        "v1",
        "--commit-message",
        "first cut",
        "--private",
    )
    repo = hub.repos[("model", "tester/branchy")]
    assert repo.private
    assert "model.safetensors" in hub.files("tester/branchy", revision="v1")
    assert "model.safetensors" not in hub.files("tester/branchy", revision="main")
    assert any(c["message"] == "first cut" for c in repo.commits.values())
    clean = tmp_path / "clean"
    clean.mkdir()
    outputs = load_both(hub, tmp_path / "home-load", clean, HYBRID_LOAD, folders["hybrid"], "tester/branchy", "v1")
    assert outputs["hub"] == outputs["local"]


@pytest.mark.parametrize("failure", ["refuse_commits", "drop_commits"])
def test_a_failed_upload_is_a_clear_error_leaves_the_folder_alone_and_a_retry_succeeds(
    hub, folders, failure, tmp_path
):
    folder = folders["doris"]
    before = digest(folder)
    setattr(hub, failure, 1)
    out = push(hub, tmp_path / "home", folder, f"tester/retry-{failure}", check=False)
    assert out.returncode == 1
    assert "failed" in out.stderr and "run the same command again" in out.stderr
    assert "Traceback" not in out.stderr
    assert digest(folder) == before
    push(hub, tmp_path / "home", folder, f"tester/retry-{failure}")
    assert "xgboost_model.json" in hub.files(f"tester/retry-{failure}")


def test_a_dropped_lfs_upload_is_retried_by_the_client(folders, tmp_path):
    with HubServer() as fresh:  # holds no LFS object yet, so the weights must be uploaded
        fresh.drop_uploads = 1
        push(fresh, tmp_path / "home", folders["hybrid"], "tester/flaky-lfs")
        assert fresh.drop_uploads == 0 and "model.safetensors" in fresh.files("tester/flaky-lfs")
        assert sum(method == "PUT" for method, _ in fresh.requests) == 2  # the dropped PUT and its retry


def requests_for(hub, repo_id: str) -> list:
    return [r for r in hub.requests if repo_id in r[1]]


@pytest.mark.parametrize(
    "make, repo_id, message",
    [
        (lambda f, tmp: tmp, "tester/x", "is not a trained depdetect model"),
        (lambda f, tmp: f["hybrid"], "tester/bad--name", "not a valid Hub repo id"),
        (lambda f, tmp: f["hybrid"], "tester/" + "a" * 100, "not a valid Hub repo id"),
    ],
)
def test_bad_input_fails_before_anything_is_uploaded(hub, folders, tmp_path, make, repo_id, message):
    out = push(hub, tmp_path / "home", make(folders, tmp_path), repo_id, check=False)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    assert not requests_for(hub, repo_id)


def test_a_card_template_with_an_unknown_field_fails_before_upload(hub, folders, tmp_path):
    template = tmp_path / "card.md"
    template.write_text("---\n{{ card_data }}\n---\n# {{ model_name }} by {{ author_nickname }}\n")
    out = push(
        hub, tmp_path / "home", folders["hybrid"], "tester/templated", "--card-template", str(template), check=False
    )
    assert out.returncode == 2 and "author_nickname" in out.stderr and "Fields available" in out.stderr
    assert not requests_for(hub, "tester/templated")


def test_a_folder_without_metrics_gets_a_card_without_results_and_a_warning(hub, folders, tmp_path):
    import shutil

    folder = tmp_path / "no-metrics"
    shutil.copytree(folders["doris"], folder)
    (folder / "metrics.json").unlink()
    out = push(hub, tmp_path / "home", folder, "tester/no-metrics")
    assert "metrics.json is missing" in out.stderr
    card = hub.files("tester/no-metrics")["README.md"].decode()
    assert "model-index" not in card_metadata(card) and "No results" in card


def test_pickles_and_incomplete_folders_are_refused(hub, folders, tmp_path):
    import shutil

    folder = tmp_path / "pickled"
    shutil.copytree(folders["hybrid"], folder)
    (folder / "optimizer.pt").write_bytes(b"\x80\x04")
    out = push(hub, tmp_path / "home", folder, "tester/pickled", check=False)
    assert out.returncode == 2 and "optimizer.pt" in out.stderr and "no pickles" in out.stderr
    (folder / "optimizer.pt").unlink()
    (folder / "modeling_hybrid.py").unlink()
    out = push(hub, tmp_path / "home", folder, "tester/pickled", check=False)
    assert out.returncode == 2 and "missing modeling_hybrid.py" in out.stderr
    assert not requests_for(hub, "tester/pickled")


def test_push_to_hub_publishes_a_doris_pipeline_object_with_its_card(hub, folders, tmp_path):
    script = textwrap.dedent(f"""
        import depdetect
        doris = depdetect.DorisPipeline.from_pretrained({str(folders["doris"])!r})
        metrics = {{"test": {{"f1": 0.5, "auprc": 0.25}}}}
        print(depdetect.push_to_hub(doris, "tester/doris-method", metrics=metrics)["commit"])
    """)
    run(hub, tmp_path / "home", [sys.executable, "-c", script])
    meta = card_metadata(hub.files("tester/doris-method")["README.md"].decode())
    assert {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]} == {
        "f1": 0.5,
        "auprc": 0.25,
    }


def test_push_to_hub_publishes_a_pipeline_object_that_loads_without_depdetect(hub, folders, tmp_path):
    script = textwrap.dedent(f"""
        import depdetect
        from transformers import AutoTokenizer
        model = depdetect.HybridForSequenceClassification.from_pretrained({str(folders['hybrid'])!r})
        tokenizer = AutoTokenizer.from_pretrained({str(folders['hybrid'])!r})
        detector = depdetect.DepressionDetectionPipeline(model=model, tokenizer=tokenizer)
        print(depdetect.push_to_hub(detector, "tester/pipeline-object", metrics={{"test": {{"f1": 0.5}}}})["commit"])
    """)
    run(hub, tmp_path / "home", [sys.executable, "-c", script])
    assert {"pipeline_hybrid.py", "model.safetensors", "tokenizer.json"} <= set(hub.files("tester/pipeline-object"))
    clean = tmp_path / "clean"
    clean.mkdir()
    outputs = load_both(hub, tmp_path / "home-load", clean, HYBRID_LOAD, folders["hybrid"], "tester/pipeline-object")
    assert outputs["hub"] == outputs["local"]


# -- datasets ---------------------------------------------------------------------------------------------------


def test_a_corpus_pushes_as_parquet_with_a_card_and_loads_back(hub, tmp_path):
    out = run(hub, tmp_path / "home", [sys.executable, str(ROOT / "datasets_scripts" / "rmhd_users.py"),
                                       str(tmp_path / "cohort"), "--users", "60", "--seed", "2",
                                       "--push_to_hub", "tester/rmhd-users"])
    assert "Published" in out.stdout
    files = hub.files("tester/rmhd-users", repo_type="dataset")
    assert any(name.endswith(".parquet") for name in files)
    card = files["README.md"].decode()
    assert "SIMULATED" in card and "license: other" in card and "dataset_info" in card
    script = textwrap.dedent("""
        import json, sys
        from datasets import load_dataset, load_from_disk
        hub = load_dataset("tester/rmhd-users")
        local = load_from_disk(sys.argv[1])
        print(json.dumps({name: hub[name].to_list() == local[name].to_list() for name in local}))
    """)
    clean = tmp_path / "clean"
    clean.mkdir()
    same = json.loads(run(hub, tmp_path / "home2", [sys.executable, "-c", script, str(tmp_path / "cohort")],
                          cwd=clean).stdout.strip().splitlines()[-1])
    assert same == {"train": True, "validation": True, "test": True}
    # what a converter publishes, training reads back: --dataset_name takes the Hub dataset id
    script = textwrap.dedent("""
        import json, sys
        from datasets import load_from_disk
        from depdetect.arguments import DataArguments
        from depdetect.doris.data import load_users
        data = load_users(DataArguments(dataset_name="tester/rmhd-users"))
        local = load_from_disk(sys.argv[1])
        print(json.dumps({name: data[name].to_list() == local[name].to_list() for name in local}))
    """)
    same = json.loads(run(hub, tmp_path / "home3", [sys.executable, "-c", script, str(tmp_path / "cohort")],
                          cwd=clean).stdout.strip().splitlines()[-1])
    assert same == {"train": True, "validation": True, "test": True}


def test_licensed_corpora_refuse_to_push_without_permission(hub, tmp_path):
    from .test_users_data import write_swdd

    write_swdd(tmp_path)
    argv = [sys.executable, str(ROOT / "datasets_scripts" / "swdd.py"), str(tmp_path), str(tmp_path / "out"),
            "--push_to_hub", "tester/swdd"]
    out = run(hub, tmp_path / "home", argv, check=False)
    assert out.returncode == 1 and "Refusing to push swdd" in out.stderr and "--i-have-permission" in out.stderr
    assert "Traceback" not in out.stderr
    assert ("dataset", "tester/swdd") not in hub.repos
    run(hub, tmp_path / "home", argv + ["--i-have-permission", "--private"])
    assert hub.repos[("dataset", "tester/swdd")].private


def test_esconv_pushes_through_its_script(hub, tmp_path, esconv_file):
    source = esconv_file
    run(hub, tmp_path / "home", [sys.executable, str(ROOT / "datasets_scripts" / "esconv.py"), str(source),
                                 str(tmp_path / "esconv"), "--push_to_hub", "tester/esconv"])
    files = hub.files("tester/esconv", repo_type="dataset")
    assert any(name.endswith(".parquet") for name in files)
    assert "license: cc-by-nc-4.0" in files["README.md"].decode()


def test_daic_woz_refuses_to_push_without_permission(tmp_path):
    from depdetect.hub import push_dataset

    with pytest.raises(PermissionError, match="DAIC-WOZ is distributed by USC ICT"):
        push_dataset(None, "tester/daic", "daic_woz", "card", "other")


def test_a_jsonl_corpus_pushes_with_the_push_command(hub, tmp_path):
    rows = [
        {"user_id": f"u{i}", "posts": [{"text": f"post {i}", "timestamp": None}], "label": i % 2} for i in range(6)
    ]
    path = tmp_path / "users.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run(hub, tmp_path / "home", [sys.executable, "-m", "depdetect.cli", "data", "users-jsonl", "push", str(path),
                                 "tester/my-users"])
    files = hub.files("tester/my-users", repo_type="dataset")
    assert any(name.endswith(".parquet") for name in files)
    assert "responsible for the right to publish it" in files["README.md"].decode()


def test_a_folder_saved_by_the_previous_layout_publishes_and_loads_from_the_hub(hub, tmp_path):
    """depdetect 0.1 folders carry pipeline_depression.py: push finds the files their config names."""
    import shutil

    from .test_remote_code import OLD_LAYOUT

    folder = tmp_path / "old"
    shutil.copytree(OLD_LAYOUT / "hybrid", folder)
    push(hub, tmp_path / "home", folder, "tester/old-layout")
    assert {"pipeline_depression.py", "modeling_hybrid.py", "model.safetensors"} <= set(hub.files("tester/old-layout"))
    clean = tmp_path / "clean"
    clean.mkdir()
    outputs = load_both(hub, tmp_path / "home-load", clean, HYBRID_LOAD, folder, "tester/old-layout")
    assert outputs["hub"] == outputs["local"]


@pytest.mark.parametrize("kind", ["hybrid", "doris"])
def test_predict_takes_a_hub_repo_id_and_matches_the_local_folder(hub, folders, kind, tmp_path):
    repo_id = f"tester/predict-{kind}"
    push(hub, tmp_path / "home", folders[kind], repo_id)
    if kind == "doris":
        from depdetect.doris.data import rmhd_user_cohort

        rows = rmhd_user_cohort(num_users=60, seed=8)["test"].to_list()[:4]
    else:
        rows = [{"text": t} for t in TEXTS]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outputs = {}
    for name, where in (("local", str(folders[kind])), ("hub", repo_id)):
        out = run(
            hub,
            tmp_path / f"home-{name}",
            [
                sys.executable,
                "-m",
                "depdetect.cli",
                "predict",
                where,
                str(source),
                "-o",
                str(tmp_path / f"{name}.jsonl"),
            ],
            cwd=tmp_path,
        )
        assert f"Wrote {len(rows)} predictions" in out.stderr
        outputs[name] = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    assert outputs["hub"] == outputs["local"]
