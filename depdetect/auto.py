"""Registers depdetect's transformers models with transformers' Auto classes and their pipeline tasks with
`pipeline()`: every registered system whose spec names a `transformers_auto` function (the Hybrid, the dual
encoder).

Imported on first use of any depdetect model class (`from depdetect import HybridForSequenceClassification`, or
`import depdetect.auto`), not by `import depdetect` itself, which stays light so the command line answers fast.
After it: `AutoConfig` / `AutoModelForSequenceClassification` / `AutoModel.from_pretrained(folder)` load saved
depdetect models without remote code, and `pipeline("depression-detection" | "depression-scoring", model=...)`
accepts model objects. Saved folders need none of this: they carry their code (`trust_remote_code=True`).
"""

from __future__ import annotations

from . import systems


def register_all() -> list[str]:
    """Run every system's `transformers_auto`; returns the names of the systems registered."""
    done = []
    for spec in systems.specs():
        if spec.transformers_auto:
            spec.load("transformers_auto")()
            done.append(spec.name)
    return done


REGISTERED = register_all()
