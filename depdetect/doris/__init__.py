"""DORIS (arXiv 2403.10750): symptom-guided, mood-aware user-level depression detection.

config.py (DorisConfig, XGBoostParams), templates.py (templates and prompts), annotators.py (embedding /
transformers / openai backends), embedder.py, cache.py (on-disk caches), features.py (the feature maths),
pipeline.py (DorisPipeline: fit, predict, explain, save, load), streaming.py (a user's running state as posts
arrive), data.py (the `users` schema and the simulated
cohort), arguments.py and recipe.py (`depdetect train doris`). Names load on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DorisConfig": "config", "XGBoostParams": "config", "DorisPipeline": "pipeline",
    "EmbeddingAnnotator": "annotators", "LLMAnnotator": "annotators", "OpenAIAnnotator": "annotators",
    "TransformersAnnotator": "annotators", "make_annotator": "annotators",
    "SentenceTransformerEmbedder": "embedder", "risk_scores": "features", "top_percent_cutoff": "features",
    "user_features": "features", "EMOTIONS": "templates", "PROMPT_VERSIONS": "templates", "SYMPTOMS": "templates",
    "parse_symptom_answer": "templates", "DorisUserStream": "streaming",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depdetect.doris' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = sorted(_EXPORTS)
