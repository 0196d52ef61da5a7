"""The three systems by name, and which one a saved folder (or Hub repo) holds.

Light (standard library only): the command line uses it before any heavy import.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

from .utils import looks_like_path

#: system name -> its name on the command line
SYSTEMS = {"hybrid": "hybrid", "dual_encoder": "dual-encoder", "doris": "doris"}
MODEL_TYPES = {"depdetect_hybrid": "hybrid", "depdetect_dual_encoder": "dual_encoder"}
DORIS_CONFIG = "doris_config.json"


def folder_kind(folder: str | Path) -> str:
    """'hybrid', 'dual_encoder' or 'doris' for a saved model folder; a ValueError saying why otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: pass a trained model folder (e.g. outputs/hybrid) or a Hub repo "
                         "id.")
    if (folder / DORIS_CONFIG).is_file():
        return "doris"
    config = folder / "config.json"
    if not config.is_file():
        raise ValueError(
            f"{folder} is not a trained depdetect model: it has neither config.json (Hybrid, dual encoder) nor "
            f"{DORIS_CONFIG} (DORIS). Pass the folder training wrote (e.g. outputs/hybrid, "
            "outputs/dual_encoder/receiver, outputs/doris)."
        )
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as err:
        raise ValueError(f"{config} is not a readable JSON config ({err}).") from err
    if model_type not in MODEL_TYPES:
        raise ValueError(f"{folder}/config.json has model_type {model_type!r}, not a depdetect model "
                         f"({sorted(MODEL_TYPES)}).")
    return MODEL_TYPES[model_type]


def resolve_model(model: str, revision: str | None = None) -> Path:
    """A local model folder as it is, or a Hub repo id downloaded (offline: from the cache) with huggingface_hub."""
    path = Path(model)
    if path.exists() or looks_like_path(model):
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, revision=revision))
    except Exception as err:  # offline mode, unknown repo, no access: all end the same way for the user
        raise ValueError(
            f"{model!r} is neither a local folder nor a Hub model repo that could be downloaded "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})."
        ) from err


def recipe(kind: str) -> ModuleType:
    """The recipe module of a system (train / load_predictor / check_record / predict / score_predictions)."""
    return importlib.import_module(f"depdetect.{kind}.recipe")
