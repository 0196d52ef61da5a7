"""A Hugging Face Space for a trained model: `depdetect push OUTPUT_DIR REPO_ID --space SPACE_ID`.

The Space folder holds `app.py` (the `depdetect demo` app for one model), `requirements.txt` (pinned to the versions
this machine runs), a Space README (`sdk: gradio`, `app_file`, `models:` naming the model repo, the licence, the
notice) and, under `depdetect/`, the depdetect files the app imports, copied from this installation:

* a remote-code system (Hybrid, dual encoder): only the demo's files (`demo.py`, `report_html.py`, the registry
  `systems.py` with `utils.py`, the package's and every system's light `__init__.py`, and the system's `views.py`;
  standard library and Gradio). The model itself loads through transformers with its own remote code, so the
  requirements are torch, transformers and gradio.
* DORIS has no remote code (it is trees over sentence embeddings, not a transformers model), so its Space carries
  the whole depdetect package (pure Python, about 650 KB) and requires what depdetect requires.

The app loads the model at the revision the Space was written for (by default the commit `push` uploaded), so a
later push to the model repo does not change a published demo until its app.py is edited. The Space runs with
`pip install -r requirements.txt && python app.py` anywhere, not only on the Hub.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from . import systems

#: the demo's own files: enough for a remote-code model, whose code comes with the model repo (with the registry's
#: light files and the system's views, `vendored_files`)
DEMO_FILES = ("__init__.py", "demo.py", "report_html.py", "systems.py", "utils.py")

APP = '''"""depdetect demo of {model} ({kind}), written by depdetect {version}.

Research software, not a diagnostic tool. Runs as it is on Hugging Face Spaces; anywhere else:
    pip install -r requirements.txt && python app.py
"""

from depdetect.demo import build_demo

MODEL = {model!r}
# the model commit this Space was written for (None: follow the repo's main branch)
REVISION = {revision!r}
# True: the model runs on its own remote code, through transformers; False: on the depdetect/ copied here (DORIS)
REMOTE_CODE = {remote_code!r}

demo = build_demo([MODEL], revision=REVISION, remote_code=REMOTE_CODE)

if __name__ == "__main__":
    demo.launch()
'''


def _installed(name: str) -> str:
    try:
        return metadata.version(name).split("+")[0]  # 2.13.0+cpu -> 2.13.0: the local tag is not on an index
    except metadata.PackageNotFoundError as err:
        extra = " (pip install 'depdetect[demo]')" if name == "gradio" else ""
        raise ValueError(f"A Space pins the versions this machine runs, but {name} is not installed{extra}.") from err


def _requirement_name(requirement: str, extra: str | None = None) -> str | None:
    """The distribution name of a requirement of depdetect's metadata: a core one, or one of `extra`'s; None for
    the other extras' requirements."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    if parsed.marker is None or "extra" not in str(parsed.marker):
        return parsed.name
    return parsed.name if extra is not None and parsed.marker.evaluate({"extra": extra}) else None


def space_requirements(kind: str) -> list[str]:
    """The Space's requirements.txt lines, each pinned to the version installed here: torch, transformers and
    gradio for a torch model; depdetect's own requirements (the core and the system's extra) and gradio for DORIS."""
    spec = systems.get(kind)
    if spec.remote_code:
        names = ["torch", "transformers", "gradio"]
    else:
        try:
            requires = metadata.requires("depdetect") or []
        except metadata.PackageNotFoundError as err:
            raise ValueError("A DORIS Space lists depdetect's requirements, read from its installation: install "
                             "depdetect (pip install -e .) and run again.") from err
        names = [n for n in (_requirement_name(r, spec.extra) for r in requires) if n] + ["gradio"]
    seen, lines = set(), []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            lines.append(f"{name}=={_installed(name)}")
    return lines


def vendored_files(kind: str) -> list[str]:
    """The depdetect files (relative to the package) a Space of this system carries."""
    root = Path(__file__).parent
    spec = systems.get(kind)
    if spec.remote_code:
        # every system's light __init__.py (the registry imports them all) and this system's views module
        packages = [_package_path(s.views.rsplit(".", 1)[0]) + "/__init__.py" for s in systems.specs()]
        return [*DEMO_FILES, *packages, _package_path(spec.views) + ".py"]
    files = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*"))
             if p.is_file() and p.suffix in (".py", ".md") and "__pycache__" not in p.parts]
    return files


def _package_path(module: str) -> str:
    """depdetect.hybrid.views -> hybrid/views: a module's path inside the package."""
    return "/".join(module.split(".")[1:])


def space_readme(model_repo: str, kind: str, revision: str | None, space_id: str | None = None) -> str:
    """The Space's README.md: the YAML block the Hub reads (sdk, app_file, models, licence) and the notice."""
    from huggingface_hub import SpaceCardData

    from . import __version__
    from .report_html import NOTICE

    name = model_repo.rsplit("/", 1)[-1]
    spec = systems.get(kind)
    data = SpaceCardData(
        title=f"depdetect demo: {name}"[:60], sdk="gradio", sdk_version=_installed("gradio"), app_file="app.py",
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}", models=[model_repo], license="apache-2.0",
        tags=["depdetect", "mental-health", "depression-detection", "explainability", "research"],
        emoji="🧠", colorFrom="indigo", colorTo="gray", pinned=False,
        short_description="Explainable depression detection (research demo)",
    )
    pinned = f"at revision `{revision}`" if revision else "at its `main` branch"
    code = ("The model runs on its own remote code through transformers (`trust_remote_code=True`); `depdetect/` "
            "holds only the demo's user interface." if spec.remote_code else
            "DORIS is not a transformers model and has no remote code: `depdetect/` holds the depdetect "
            f"{__version__} package, which the app imports to load and run it.")
    body = f"""
# depdetect demo: {name}

A Gradio demo of the depdetect {spec.demo_title} model [{model_repo}](https://huggingface.co/{model_repo}), {pinned}.
It shows the model's prediction and its explanation: {spec.shows}

**Notice.** {NOTICE}

**Intended use.** Research and teaching on text-based depression detection and its explanations. Not for screening,
triage or any decision about a person. The model card of [{model_repo}](https://huggingface.co/{model_repo})
states the training data, the measured results with their intervals and the model's limits.

**Privacy.** The app logs and stores nothing it is given: Gradio's analytics are off, flagging is off, examples are
not cached. Do not paste text that identifies anyone.

## How it runs

{code} Versions in `requirements.txt` are those the Space was written with (depdetect {__version__}).
To run it elsewhere:

```bash
pip install -r requirements.txt && python app.py
```

Written by `depdetect push ... --space {space_id or 'SPACE_ID'}`. Licence: Apache-2.0.
"""
    return f"---\n{data.to_yaml()}\n---\n{body}"


def check_space(kind: str, space_dir: str | Path | None = None, space_id: str | None = None) -> list[str]:
    """What `push --space` checks before the model is uploaded: the Space id, a new or empty folder to write into,
    and the installed versions to pin (gradio among them). Returns the requirements."""
    from .hub import check_repo_id

    if space_id is not None:
        check_repo_id(space_id)
    out = Path(space_dir) if space_dir else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not an empty folder: the Space folder is written into a new or empty "
                         "one, so nothing of yours is overwritten. Choose another --space_dir.")
    return space_requirements(kind)


def write_space(out_dir: str | Path, model_repo: str, kind: str, revision: str | None = None,
                space_id: str | None = None) -> list[str]:
    """Write the Space folder for `model_repo` (a Hub model repo of this `kind`) into `out_dir` (new or empty).
    Returns the files written, relative to `out_dir`."""
    from .hub import check_repo_id

    check_repo_id(model_repo)
    spec = systems.get(kind)
    out = Path(out_dir)
    requirements = check_space(kind, out)  # before writing anything
    readme = space_readme(model_repo, kind, revision, space_id)
    out.mkdir(parents=True, exist_ok=True)
    from . import __version__

    (out / "app.py").write_text(APP.format(model=model_repo, kind=kind, version=__version__, revision=revision,
                                           remote_code=spec.remote_code), encoding="utf-8")
    (out / "requirements.txt").write_text(
        f"# depdetect {__version__}: this Space's requirements, pinned to the versions it was written with\n"
        + "\n".join(requirements) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme, encoding="utf-8")
    root = Path(__file__).parent
    written = ["app.py", "requirements.txt", "README.md"]
    for rel in vendored_files(kind):
        target = out / "depdetect" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)
        written.append(f"depdetect/{rel}")
    return written


def push_space(space_id: str, model_repo: str, kind: str, revision: str | None = None, private: bool = False,
               space_dir: str | Path | None = None, token: str | None = None) -> dict:
    """Write the Space folder and upload it as a Gradio Space; with `space_dir` (new or empty), keep a copy of what
    was uploaded there."""
    from huggingface_hub import HfApi

    from .hub import PublishError, _is_http_error

    check_space(kind, space_dir, space_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "space"
        files = write_space(folder, model_repo, kind, revision, space_id)
        api = HfApi(token=token)
        try:
            url = api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
            commit = api.upload_folder(folder_path=str(folder), repo_id=space_id, repo_type="space",
                                       commit_message=f"depdetect demo of {model_repo}",
                                       ignore_patterns=["__pycache__", "*.pyc"],
                                       delete_patterns=["depdetect/**"])  # a file dropped from depdetect goes too
        except Exception as err:
            if not _is_http_error(err) and not isinstance(err, OSError):
                raise
            raise PublishError(f"Publishing the Space {space_id} failed: {type(err).__name__}: {err}. Run the same "
                               "command again (files already uploaded are not sent twice).") from err
        if space_dir:  # only after the upload, so that a failed one can be run again with the same --space_dir
            shutil.copytree(folder, space_dir, dirs_exist_ok=True)
    return {"space_id": space_id, "files": files, "commit": commit.oid, "url": str(url)}
