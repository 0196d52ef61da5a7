"""`depdetect push OUTPUT_DIR REPO_ID --space SPACE_ID`: the Space is published next to the model on the project's
Hub test server, with its app, pinned requirements and card; then each Space, downloaded from that server into a
fresh venv that installs only its requirements.txt, runs `python app.py` and answers like depdetect's own pipelines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import depdetect
from depdetect import systems

from .conftest import free_port
from .hub_server import HubServer
from .test_cli import TURNS
from .test_hub import run

DEMO_FILES = {"app.py", "requirements.txt", "README.md", "depdetect/__init__.py", "depdetect/demo.py",
              "depdetect/report_html.py", "depdetect/systems.py", "depdetect/utils.py", "depdetect/hybrid/__init__.py",
              "depdetect/dual_encoder/__init__.py", "depdetect/doris/__init__.py"}


def demo_files(kind: str) -> set[str]:
    """What a remote-code model's Space holds: the demo's files and the system's own views."""
    return DEMO_FILES | {f"depdetect/{kind}/views.py"}

TEXT = "I can't sleep and I feel hopeless"
POSTS = [["2024-01-03", "Started a new job today, nervous but excited."],
         ["2024-02-11", "I haven't slept properly in weeks and I feel worthless."],
         ["2024-02-20", "Nothing feels worth doing anymore, I just stay in bed."]]


@pytest.fixture(scope="module")
def hub():
    with HubServer() as server:
        yield server


def push(hub, home: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(hub, home, [sys.executable, "-m", "depdetect.cli", "push", *argv], check=check)


@pytest.fixture(scope="module")
def spaces(hub, models, tmp_path_factory) -> dict[str, dict]:
    """Each system pushed with --space (and --space_dir): the model repo, the Space id, the pinned revision."""
    out = {}
    for kind, folder in models.items():
        name = kind.replace("_", "-")
        local = tmp_path_factory.mktemp("space") / name
        proc = push(hub, tmp_path_factory.mktemp("home"), str(folder), f"tester/{name}", "--space",
                    f"tester/{name}-demo", "--space_dir", str(local))
        revision = re.search(r"usage pinned to revision ([0-9a-f]{40})", proc.stdout).group(1)
        out[kind] = {"repo": f"tester/{name}", "space": f"tester/{name}-demo", "revision": revision,
                     "stdout": proc.stdout, "local": local}
    return out


def card(text: str) -> tuple[dict, str]:
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


@pytest.mark.parametrize("kind", [spec.name for spec in systems.specs()])
def test_push_with_space_publishes_the_model_and_a_gradio_space_naming_it(hub, spaces, kind):
    info = spaces[kind]
    assert "Published the demo Space to" in info["stdout"]
    assert {"README.md", "model.safetensors" if kind != "doris" else "xgboost_model.json"} <= set(
        hub.files(info["repo"]))
    files = hub.files(info["space"], "space")
    assert hub.repos[("space", info["space"])].sdk == "gradio" and ("model", info["space"]) not in hub.repos

    meta, body = card(files["README.md"].decode())
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["models"] == [info["repo"]]
    assert meta["sdk_version"] == metadata.version("gradio") and meta["license"] == "apache-2.0"
    assert "not a diagnostic tool" in body and "Intended use" in body and "logs and stores nothing" in body
    assert info["revision"] in body

    app = files["app.py"].decode()
    compile(app, "app.py", "exec")
    assert f"REVISION = {info['revision']!r}" in app and f"MODEL = {info['repo']!r}" in app
    assert f"REMOTE_CODE = {kind != 'doris'}" in app

    requirements = [line for line in files["requirements.txt"].decode().splitlines() if not line.startswith("#")]
    pinned = {line.split("==")[0]: line.split("==")[1] for line in requirements}
    assert all("==" in line for line in requirements)
    assert pinned["gradio"] == metadata.version("gradio")
    assert pinned["torch"] == metadata.version("torch").split("+")[0]
    package = Path(depdetect.__file__).parent
    if kind == "doris":  # no remote code: the package travels with the Space, with what it requires
        assert {"xgboost", "sentence-transformers", "transformers", "huggingface-hub"} <= set(pinned)
        assert {"depdetect/doris/pipeline.py", "depdetect/doris/streaming.py", "depdetect/model_cards/doris.md",
                "depdetect/inference.py"} <= set(files)
    else:  # the model's own code does the rest
        assert set(pinned) == {"torch", "transformers", "gradio"}
        assert set(files) == demo_files(kind)
    for name, data in files.items():
        if name.startswith("depdetect/"):
            assert data == (package / name.removeprefix("depdetect/")).read_bytes(), name
    local = {p.relative_to(info["local"]).as_posix(): p.read_bytes() for p in info["local"].rglob("*") if p.is_file()}
    assert local == files  # --space_dir holds what was uploaded


@pytest.mark.parametrize("extra, message", [
    (["--space", "tester/bad--space"], "not a valid Hub repo id"),
    (["--space_dir", "SPACE_DIR"], "--space_dir goes with --space"),
    (["--space", "tester/ok-space", "--space_dir", "FULL_DIR"], "is not an empty folder"),
])
def test_bad_space_arguments_fail_before_anything_is_uploaded(hub, models, tmp_path, extra, message):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    extra = [str(tmp_path / "full") if a == "FULL_DIR" else str(tmp_path / "s") if a == "SPACE_DIR" else a
             for a in extra]
    out = push(hub, tmp_path / "home", str(models["hybrid"]), "tester/never-pushed", *extra, check=False)
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr
    assert not [r for r in hub.requests if "never-pushed" in r[1] or "ok-space" in r[1]]
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"


def test_a_space_without_gradio_installed_is_refused_with_what_to_install(monkeypatch, tmp_path):
    from depdetect import space

    real = metadata.version

    def version(name):
        if name == "gradio":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(space.metadata, "version", version)
    with pytest.raises(ValueError, match=r"gradio is not installed \(pip install 'depdetect\[demo\]'\)"):
        space.write_space(tmp_path / "space", "tester/model", "hybrid")
    assert not (tmp_path / "space").exists()  # nothing half-written


def test_a_refused_space_upload_is_a_clear_error_and_the_same_command_succeeds_again(hub, models, tmp_path):
    argv = [str(models["hybrid"]), "tester/retried", "--space", "tester/retried-demo", "--space_dir",
            str(tmp_path / "space")]
    hub.refuse_commits, hub.refuse_only = 1, "space"
    try:
        out = push(hub, tmp_path / "home", *argv, check=False)
    finally:
        hub.refuse_commits, hub.refuse_only = 0, None
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "Publishing the Space tester/retried-demo failed" in out.stderr
    assert "Run the same command again" in out.stderr
    assert "README.md" in hub.files("tester/retried")  # the model went out; the Space folder was not kept
    assert not (tmp_path / "space").exists()
    push(hub, tmp_path / "home", *argv)
    assert set(hub.files("tester/retried-demo", "space")) == demo_files("hybrid")
    assert {p.relative_to(tmp_path / "space").as_posix() for p in (tmp_path / "space").rglob("*.*")} == demo_files(
        "hybrid")


def test_pushing_again_refreshes_the_copied_files_and_keeps_the_spaces_own(hub, spaces, models, tmp_path):
    space = "tester/repushed-demo"
    push(hub, tmp_path / "home", str(models["hybrid"]), "tester/repushed", "--space", space)
    script = (f"from huggingface_hub import HfApi; api = HfApi()\n"
              f"api.upload_file(path_or_fileobj=b'x = 1', path_in_repo='depdetect/removed_module.py',"
              f" repo_id={space!r}, repo_type='space')\n"
              f"api.upload_file(path_or_fileobj=b'our notes', path_in_repo='notes.md', repo_id={space!r},"
              f" repo_type='space')\n")
    run(hub, tmp_path / "home", [sys.executable, "-c", script])
    assert "depdetect/removed_module.py" in hub.files(space, "space")
    push(hub, tmp_path / "home", str(models["hybrid"]), "tester/repushed", "--space", space)
    files = hub.files(space, "space")
    assert set(files) == demo_files("hybrid") | {"notes.md"} and files["notes.md"] == b"our notes"


# -- the Space, run from a fresh venv that installs only its requirements.txt --------------------------------------


def download_space(hub, space_id: str, where: Path) -> Path:
    """The Space as a user gets it: huggingface_hub's snapshot_download from the server, in a clean process."""
    script = ("import sys; from huggingface_hub import snapshot_download\n"
              "snapshot_download(sys.argv[1], repo_type='space', local_dir=sys.argv[2])")
    run(hub, where.parent / "home-download", [sys.executable, "-c", script, space_id, str(where)])
    got = {p.relative_to(where).as_posix() for p in where.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert got == set(hub.files(space_id, "space"))
    return where


@pytest.fixture(scope="module")
def venvs(spaces, hub, tmp_path_factory):
    """One fresh venv per distinct requirements.txt (the Hybrid and the dual encoder need the same three packages),
    installed side by side; each holds only what its requirements.txt pulls in. `--no-compile` halves the install
    time (Python compiles what the app imports when it imports it)."""
    root = tmp_path_factory.mktemp("venvs")
    wanted = {"torch-models": spaces["hybrid"]["space"], "doris": spaces["doris"]["space"]}
    assert hub.files(spaces["hybrid"]["space"], "space")["requirements.txt"] == hub.files(
        spaces["dual_encoder"]["space"], "space")["requirements.txt"]
    jobs = {}
    for name, space_id in wanted.items():
        requirements = root / f"{name}-requirements.txt"
        requirements.write_bytes(hub.files(space_id, "space")["requirements.txt"])
        venv = root / name
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        jobs[name] = (venv, subprocess.Popen([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                                              "--disable-pip-version-check", "--no-compile", "-r",
                                              str(requirements)],
                                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for name, (_, proc) in jobs.items():
        output, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, f"pip install -r requirements.txt failed for the {name} Space:\n{output[-3000:]}"
    yield {name: venv for name, (venv, _) in jobs.items()}
    shutil.rmtree(root, ignore_errors=True)  # about 4 GB


class SpaceApp:
    """`python app.py` in a Space folder, on a free port of 127.0.0.1, with the venv's interpreter."""

    def __init__(self, hub, folder: Path, python: Path, home: Path):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(hub.client_env(str(home)), GRADIO_SERVER_PORT=str(self.port), GRADIO_ANALYTICS_ENABLED="False")
        self.proc = subprocess.Popen([str(python), "app.py"], cwd=folder, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"app.py exited with {self.proc.returncode}:\n{''.join(self.lines)[-4000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError(f"app.py did not answer in 300 s:\n{''.join(self.lines)[-4000:]}")
        from gradio_client import Client

        self.client = Client(self.url, verbose=False, analytics_enabled=False, download_files=False)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def start(hub, spaces, venvs, kind: str, tmp_path: Path) -> SpaceApp:
    folder = download_space(hub, spaces[kind]["space"], tmp_path / "space")
    python = venvs["doris" if kind == "doris" else "torch-models"] / "bin" / "python"
    return SpaceApp(hub, folder, python, tmp_path / "home")


def test_the_fresh_venvs_hold_only_the_requirements_and_no_depdetect(venvs, tmp_path):
    for venv in venvs.values():
        installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                                   capture_output=True, text=True, check=True).stdout.lower()
        assert "depdetect" not in installed and "gradio==" in installed
        probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import depdetect"], cwd=tmp_path,
                               capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
        assert probe.returncode != 0 and "No module named 'depdetect'" in probe.stderr
    torch_only = subprocess.run([str(venvs["torch-models"] / "bin" / "python"), "-m", "pip", "list",
                                 "--format=freeze"], capture_output=True, text=True, check=True).stdout.lower()
    assert "xgboost" not in torch_only and "sentence-transformers" not in torch_only


def test_the_hybrid_space_runs_from_a_fresh_venv_and_answers_like_the_pipeline(hub, spaces, venvs, models,
                                                                               tmp_path):
    from depdetect.demo import Tab
    from depdetect.hybrid.views import explain_text

    app = start(hub, spaces, venvs, "hybrid", tmp_path)
    try:
        label, probability, words = app.client.predict(TEXT, "AWVTI", api_name="/explain_text")
        with pytest.raises(Exception, match="input is empty or holds only whitespace"):
            app.client.predict("   ", "NAS", api_name="/explain_text")
    finally:
        app.close()
    expected = explain_text(Tab(str(models["hybrid"])), TEXT, "AWVTI")
    assert (label, probability) == expected[:2]
    assert [(w["token"], w["class_or_confidence"]) for w in words] == [tuple(w) for w in expected[2]]
    log = "".join(app.lines)
    assert TEXT not in log and "hopeless" not in log  # nothing typed reaches the app's log


def test_the_interview_space_runs_from_a_fresh_venv_and_answers_like_the_pipeline(hub, spaces, venvs, models,
                                                                                 tmp_path):
    from depdetect.demo import Tab
    from depdetect.dual_encoder.views import score_interview

    table = {"headers": ["prompt", "response"], "data": [[t["prompt"], t["response"]] for t in TURNS]}
    app = start(hub, spaces, venvs, "dual_encoder", tmp_path)
    try:
        summary, bars, shaded = app.client.predict(table, api_name="/score_interview")
        empty = {"headers": ["prompt", "response"], "data": [["How are you?", ""]]}
        with pytest.raises(Exception, match="response"):
            app.client.predict(empty, api_name="/score_interview")
    finally:
        app.close()
    local_summary, local_bars, local_shaded = score_interview(Tab(str(models["dual_encoder"])), table["data"])
    assert summary == local_summary and shaded == local_shaded
    assert [row[1] for row in bars["data"]] == pytest.approx(local_bars["attention"].tolist(), abs=1e-6)


def test_the_doris_space_runs_from_a_fresh_venv_on_its_copy_of_depdetect(hub, spaces, venvs, models, tmp_path):
    from depdetect.demo import Tab
    from depdetect.doris.views import explain_user

    table = {"headers": ["timestamp", "text"], "data": POSTS}
    app = start(hub, spaces, venvs, "doris", tmp_path)
    try:
        summary, details = app.client.predict(table, None, api_name="/explain_user")
        bad = {"headers": ["timestamp", "text"], "data": [["not a date", "I feel low."]]}
        with pytest.raises(Exception, match="not a date"):
            app.client.predict(bad, None, api_name="/explain_user")
    finally:
        app.close()
    assert (summary, details) == explain_user(Tab(str(models["doris"])), POSTS)
