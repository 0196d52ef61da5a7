"""Publishing to the Hugging Face Hub: trained output folders (all three systems) and datasets.

`push_folder` checks a folder before anything is uploaded (what system it is, that every file a user needs is
there, no pickles, a valid repo id, a card that renders), then uploads in two commits: the files with their card,
then the card again with its usage snippet pinned to the first commit. The local folder is only read.
`push_to_hub` does the same for an object (a DorisPipeline, or a transformers pipeline of a depdetect model).
`push_dataset` publishes a DatasetDict as parquet with a dataset card; licensed corpora need explicit permission.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from . import systems
from .cards import card_for_folder
from .folders import safetensors_problem
from .runs import RUN_FILE, artifact_hashes, check_metrics_match
from .systems import folder_kind
from .utils import read_json, write_json

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".dill", ".sav")
SKIPPED_DIRS = {"checkpoints", "logs", "__pycache__", ".git", ".cache"}  # logs: --report_to's tracker files


class PublishError(RuntimeError):
    """The upload itself failed (server refused, connection lost); the local folder is unchanged."""


def check_repo_id(repo_id: str) -> str:
    """A Hub repo id ("name" or "namespace/name"); a ValueError saying what is wrong otherwise."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ValueError(
            f"{repo_id!r} is not a valid Hub repo id: use 'namespace/name' with letters, digits, '-', '_' and '.' "
            f"(no '--' or '..', at most 96 characters). ({err})"
        ) from err
    return repo_id


def publishable_files(folder: str | Path, kind: str | None = None, follow_symlinks: bool = False) -> list[str]:
    """The files of a trained folder that go to the Hub (README.md is written fresh), after checking them: only
    regular files inside the folder (symbolic links refused, or with `follow_symlinks` only those that point
    inside it), no pickle by suffix (any case) or by content, safetensors that parse, and metrics.json measured
    on these very weights."""
    folder = Path(folder)
    kind = kind or folder_kind(folder)
    spec = systems.get(kind)
    missing = [name for name in spec.required_files if not (folder / name).is_file()]
    if spec.remote_code:  # a transformers model: weights, tokenizer and the code its config points to
        if not any((folder / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json")):
            missing.append("model.safetensors")
        if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.txt", "vocab.json")):
            missing.append("tokenizer.json (or vocab.txt)")
        config = read_json(folder / "config.json")
        if not config.get("auto_map"):
            raise ValueError(f"{folder}/config.json has no `auto_map`: it would not load with trust_remote_code. "
                             "Save the folder with depdetect (`depdetect train`, or the model's save_pretrained).")
        missing += [name for name in remote_code_files(config) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a complete {kind} output: missing {', '.join(missing)}. Re-run "
                         "`depdetect train` or save the model (and its tokenizer) with save_pretrained.")
    files, refused = [], []
    root = folder.resolve()
    for rel, path in _walk(folder):
        if rel.parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in rel.parts) or rel.as_posix() in (
                "README.md", RUN_FILE):
            continue
        if path.is_symlink():
            target = path.resolve()
            if not follow_symlinks or not target.is_relative_to(root) or not target.is_file():
                where = "a file inside the folder" if target.is_relative_to(root) else "somewhere outside the folder"
                refused.append(f"{rel.as_posix()} (a symbolic link to {where})")
                continue
        elif not path.is_file():
            refused.append(f"{rel.as_posix()} (not a regular file)")
            continue
        problem = file_problem(path)
        if problem:
            refused.append(f"{rel.as_posix()} ({problem})")
            continue
        files.append(rel.as_posix())
    if refused:
        raise ValueError(
            f"{folder} holds files depdetect will not publish: {'; '.join(refused)}. Nothing was uploaded. depdetect "
            "publishes only regular files inside the folder (symbolic links only with --follow_symlinks, and only "
            "when they point inside it), and no pickles: weights belong in safetensors, trees in XGBoost JSON."
            + (" training_args.bin is transformers.Trainer's pickled arguments, written by trainer.save_model: "
               "delete it, or save with depdetect.save_for_hub(trainer.model, folder, tokenizer)."
               if any(item.startswith("training_args.bin ") for item in refused) else "")
        )
    check_metrics_match(folder, kind)
    if (folder / "checkpoints").exists():
        logger.warning("Skipping %s/checkpoints: training checkpoints hold pickled optimiser states.", folder)
    return files


def _walk(folder: Path):
    """(relative path, path) of every entry under `folder`, not descending into symbolic links."""
    for top, dirs, names in os.walk(folder, followlinks=False):
        top_path = Path(top)
        for name in sorted(names) + sorted(d for d in dirs if (top_path / d).is_symlink()):
            path = top_path / name
            yield path.relative_to(folder), path
        dirs[:] = sorted(d for d in dirs if not (top_path / d).is_symlink())


def file_problem(path: Path) -> str | None:
    """Why `path` must not be published: a pickle (by suffix, any case, or by content), or a .safetensors file
    that does not parse as safetensors. None when it is fine."""
    name = path.name.lower()
    if name.endswith(PICKLE_SUFFIXES):
        return "a pickle-format suffix"
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return "pickle data"
        if head[:4] == b"PK\x03\x04" and _zip_holds_pickle(path):
            return "a zip archive holding pickle data (torch.save format)"
        if name.endswith(".safetensors"):
            problem = safetensors_problem(path)
            return None if problem is None else f"not a safetensors file ({problem})"
    if _old_protocol_pickle(path):
        return "pickle data (protocol 0/1)"
    return None


def _zip_holds_pickle(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.lower().endswith((".pkl", ".pickle")) for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _old_protocol_pickle(path: Path, limit: int = 1 << 20) -> bool:
    """A text-protocol pickle: the opcode stream parses (without running anything) to a STOP at the end."""
    import io
    import pickletools

    size = path.stat().st_size
    if size == 0 or size > limit:
        return False
    data = path.read_bytes()
    if not data.rstrip(b"\n").endswith(b"."):
        return False
    try:
        pickletools.dis(data, out=io.StringIO())
    except Exception:  # noqa: BLE001 (any parse failure means: not a pickle)
        return False
    return True


def remote_code_files(config: dict) -> list[str]:
    """The code files a saved torch model needs (named by its config's auto_map and custom_pipelines): a folder of
    this layout (pipeline_hybrid.py) and of the previous one (pipeline_depression.py) alike."""
    refs = list(config.get("auto_map", {}).values())
    refs += [task["impl"] for task in config.get("custom_pipelines", {}).values()]
    return sorted({ref.split(".")[0] + ".py" for ref in refs if isinstance(ref, str)})


def push_to_hub(source, repo_id: str, *, metrics: dict | None = None, **kwargs) -> dict:
    """Publish a trained folder, a `DorisPipeline`, or a transformers pipeline of a depdetect model (model +
    tokenizer) with its model card; `kwargs` as for `push_folder`. `metrics` (e.g. {"test": ...}) fills the card's
    results table when `source` is an object."""
    if isinstance(source, (str, Path)):
        return push_folder(source, repo_id, **kwargs)
    with tempfile.TemporaryDirectory() as tmp:
        if hasattr(source, "booster"):  # a DorisPipeline
            source.save_pretrained(tmp, metrics=metrics)
        elif hasattr(source, "model") and hasattr(source, "tokenizer"):
            source.model.save_pretrained(tmp)
            source.tokenizer.save_pretrained(tmp)
            if metrics is not None:
                metrics = {**metrics, "artifacts": artifact_hashes(tmp, folder_kind(tmp))}
                write_json(Path(tmp) / "metrics.json", metrics)
        else:
            raise ValueError(f"push_to_hub takes a folder, a DorisPipeline or a depdetect pipeline, got "
                             f"{type(source).__name__}.")
        return push_folder(tmp, repo_id, **kwargs)


def push_folder(folder: str | Path, repo_id: str, private: bool = False, revision: str | None = None,
                commit_message: str | None = None, template: str | Path | None = None,
                token: str | None = None, follow_symlinks: bool = False) -> dict:
    """Publish a trained output folder (Hybrid, dual encoder or DORIS) to a Hub model repo.

    Returns the repo id, the system, the files, the commit of the files (`pinned_revision`, named in the card's
    usage snippet) and the final commit.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    folder = Path(folder)
    check_repo_id(repo_id)
    kind = folder_kind(folder)
    files = publishable_files(folder, kind, follow_symlinks=follow_symlinks)
    card = card_for_folder(folder, repo_id=repo_id, template=template)  # renders now: template errors stop here
    api = HfApi(token=token)
    message = commit_message or f"Upload depdetect {kind} model"
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        operations = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(folder / rel)) for rel in files]
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode()))
        first = api.create_commit(repo_id, operations, commit_message=message, revision=revision)
        pinned = card_for_folder(folder, repo_id=repo_id, revision=first.oid, template=template)
        second = api.create_commit(
            repo_id, [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(pinned).encode())],
            commit_message=f"Model card: pin the usage snippet to {first.oid[:12]}", revision=revision,
        )
    except Exception as err:
        if isinstance(err, (ValueError, TypeError)) and not _is_http_error(err):
            raise
        raise PublishError(
            f"Publishing {folder} to {repo_id} failed: {type(err).__name__}: {err}. The local folder is unchanged; "
            "run the same command again (files already uploaded are not sent twice)."
        ) from err
    return {"repo_id": repo_id, "kind": kind, "files": [*files, "README.md"], "pinned_revision": first.oid,
            "commit": second.oid, "url": str(url)}


def _is_http_error(err: Exception) -> bool:
    from huggingface_hub.errors import HfHubHTTPError

    return isinstance(err, HfHubHTTPError)


#: Corpora whose licence forbids redistribution without the data owner's permission.
LICENSED_CORPORA = {
    "daic_woz": "DAIC-WOZ is distributed by USC ICT under an end-user licence agreement that forbids sharing the "
                "data; only the licence holder may decide to publish derived data, and only to a private repo "
                "their licence allows.",
    "swdd": "SWDD (Sina Weibo Depression Dataset) is released for research under its authors' terms and holds "
            "personal posts; redistribution needs the authors' permission.",
    "erisk": "The CLEF eRisk collections are distributed under a user agreement signed with the organisers; they hold "
             "real users' Reddit writings and may not be redistributed.",
}


def push_dataset(data, repo_id: str, corpus: str, card_text: str, license: str, private: bool = False,
                 i_have_permission: bool = False, token: str | None = None, pretty_name: str | None = None) -> dict:
    """Push a DatasetDict as parquet with a dataset card. Licensed corpora need `i_have_permission=True`."""
    from huggingface_hub import DatasetCard, HfApi

    check_repo_id(repo_id)
    if corpus in LICENSED_CORPORA and not i_have_permission:
        raise PermissionError(
            f"Refusing to push {corpus}: {LICENSED_CORPORA[corpus]} If your licence allows it, pass "
            "--i-have-permission (and consider --private)."
        )
    try:
        data.push_to_hub(repo_id, private=private, token=token)
        # the card datasets wrote keeps its configs/dataset_info; only the text and a few fields change
        card = DatasetCard.load(repo_id, repo_type="dataset", token=token)
        card.data.license = license
        card.data.pretty_name = pretty_name or corpus
        card.data.tags = sorted(
            set((getattr(card.data, "tags", None) or []) + ["depdetect", "mental-health", "depression"])
        )
        card.text = card_text
        card.push_to_hub(repo_id, repo_type="dataset", token=token, commit_message="Dataset card (depdetect)")
    except Exception as err:
        if not _is_http_error(err) and not isinstance(err, OSError):
            raise
        raise PublishError(
            f"Publishing the {corpus} dataset to {repo_id} failed: {err}. Run the command again."
        ) from err
    return {"repo_id": repo_id, "splits": {name: len(split) for name, split in data.items()},
            "url": f"{HfApi(token=token).endpoint}/datasets/{repo_id}"}


SCHEMAS = {
    "users": "`users`: `user_id` string; `posts` list of {`text` string, `timestamp` ISO 8601 string or null}; "
             "`label` ClassLabel(control, depression).",
    "interviews": "`interviews`: `interview_id` string; `turns` list of {`prompt`, `response` strings, `importance` "
                  "int8 (1 important, 0 not, -1 unknown)}; `score` float32; `label` ClassLabel(control, depression) "
                  "or -1.",
}


def dataset_card_text(repo_id: str, script: str, title: str, description: str, schema: str, source: str,
                      limits: str) -> str:
    """The body of a dataset card (its metadata comes from `datasets` and `push_dataset`)."""
    import jinja2

    from . import __version__
    from .cards import TEMPLATES

    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        (TEMPLATES / "dataset.md").read_text(encoding="utf-8"))
    return template.render(repo_id=repo_id, script=script, title=title, description=description,
                           schema=SCHEMAS.get(schema, schema), source=source, limits=limits,
                           depdetect_version=__version__)


def publish_corpus(
    data,
    repo_id: str,
    corpus: str,
    script: str,
    license: str,
    *,
    title: str,
    description: str,
    schema: str,
    source: str,
    limits: str,
    private: bool = False,
    i_have_permission: bool = False,
) -> None:
    """The datasets_scripts' publishing step: write the card, push, say where; a refusal or a failed upload ends
    the script with one line on stderr (exit 1), not a traceback."""
    import sys

    card = dataset_card_text(repo_id, script, title, description, schema, source, limits)
    try:
        result = push_dataset(
            data, repo_id, corpus, card, license, private=private, i_have_permission=i_have_permission
        )
    except (PermissionError, PublishError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    print(f"Published {result['splits']} to {result['url']}")
