"""depdetect's optional extras: what `pip install .` (the core) leaves out, and the one message that says which to
install.

The core (torch, transformers, datasets, accelerate, peft, evaluate, safetensors, huggingface-hub, scikit-learn)
trains, evaluates, explains, predicts with and publishes the Hybrid and the dual encoder, both baselines included
(the mean-embedding baseline runs the bundled MiniLM with transformers alone). The extras (setup.cfg):

- `doris`: xgboost and sentence-transformers, for DORIS (its trees and its sentence embedder);
- `plots`: matplotlib, for the PNG plots a training run writes beside its metrics (without it, none are drawn and
  the run says so);
- `demo`: gradio, for `depdetect demo` and the Spaces;
- `onnx`: onnx, onnxruntime and onnxscript, for `depdetect export` and predicting with an exported graph;
- `ray`: Ray Data, for `depdetect.integrations.ray` (batch inference with `map_batches`);
- `all`: the five.

Standard library only: the registry and the command line read it at start-up.
"""

from __future__ import annotations

import importlib.util

#: extra -> the modules it provides (their import names)
EXTRAS = {"doris": ("xgboost", "sentence_transformers"), "plots": ("matplotlib",), "demo": ("gradio",),
          "onnx": ("onnx", "onnxruntime", "onnxscript"), "ray": ("ray",)}


class MissingExtraError(ImportError):
    """An optional extra a command or class needs is not installed (the message names the pip command)."""


def missing(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here."""
    return [module for module in EXTRAS[extra] if not importable(module)]


def importable(module: str) -> bool:
    """Whether `module` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder refused it, or sys.modules holds None for it
        return False


def installed(extra: str) -> bool:
    return not missing(extra)


def require(extra: str, what: str) -> None:
    """Raise MissingExtraError, naming the pip command, when `what` (e.g. "DORIS") cannot run for want of `extra`."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(
            f"{what} needs {' and '.join(absent)}, which the core install leaves out: pip install "
            f"'depdetect[{extra}]' (from a clone: pip install -e '.[{extra}]'; or pip install "
            f"{' '.join(_pip_names(absent))}).")


def _pip_names(modules: list[str]) -> list[str]:
    return [module.replace("_", "-") for module in modules]
