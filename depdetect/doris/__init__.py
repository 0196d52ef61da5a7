"""DORIS (arXiv 2403.10750): symptom-guided, mood-aware user-level depression detection.

config.py (DorisConfig, XGBoostParams), templates.py (templates and prompts), annotators.py (embedding /
transformers / openai backends), cache.py (on-disk caches), features.py (the feature maths), pipeline.py
(DorisPipeline: fit, predict, explain, save, load), streaming.py (a user's running state as posts arrive), data.py
(the `users` schema and the simulated cohort), arguments.py and recipe.py (`depdetect train doris`), predictor.py
(predict / evaluate), card.py, views.py (HTML section, demo tab), early.py (streams for early risk detection).
Names load on first use; this file is light (standard library only): the registry reads SPEC at start-up.
"""

from __future__ import annotations

import importlib

from ..systems import SystemSpec

#: the fewest users a simulated cohort may have: 3 depressed (at least) and 3 controls, one of each per split
MIN_COHORT_USERS = 10

SPEC = SystemSpec(
    name="doris",
    cli_name="doris",
    extra="doris",
    splits_work_itself=True,
    unit="user",
    paper=("Depression Detection on Social Media with Large Language Models (arXiv 2403.10750)",
           "https://arxiv.org/abs/2403.10750"),
    description="Fit DORIS (arXiv 2403.10750) on users' timestamped posts; default data: a SIMULATED cohort of real "
                "RMHD posts. No LLM by default (--annotator embedding).",
    arguments="depdetect.doris.arguments:DorisArguments",
    trainer="depdetect.doris.recipe:fit_doris",
    predictor="depdetect.doris.predictor",
    card="depdetect.doris.card:folder_card",
    views="depdetect.doris.views",
    marker_file="doris_config.json",
    artifacts=("doris_config.json", "xgboost_model.json"),
    required_files=("doris_config.json", "xgboost_model.json"),
    output_names=("requirements.txt",),  # (with handler.py: the Inference Endpoints handler, doris/endpoint.py)
    early="depdetect.doris.early:DorisStreams",
    explanations=("evidence", "occlusion"),
    explanation_unit="post",
    unit_removal="left out of the user's history (every feature, the mood course included, is computed again without "
                 "it)",
    demo_title="User posts (DORIS)",
    corpora=(("rmhd-users", "depdetect.doris.rmhd_users",
              "a SIMULATED user cohort from the bundled RMHD posts -> users"),),
    shows="P(depression) for a user's dated posts, the symptoms found with their evidence posts, the mood course over "
          "time and a written explanation.",
)

_EXPORTS = {
    "DorisConfig": "config", "XGBoostParams": "config", "DorisPipeline": "pipeline",
    "EmbeddingAnnotator": "annotators", "LLMAnnotator": "annotators", "OpenAIAnnotator": "annotators",
    "TransformersAnnotator": "annotators", "make_annotator": "annotators",
    "SentenceTransformerEmbedder": "..embedder", "risk_scores": "features", "top_percent_cutoff": "features",
    "user_features": "features", "EMOTIONS": "templates", "PROMPT_VERSIONS": "templates", "SYMPTOMS": "templates",
    "parse_symptom_answer": "templates", "DorisUserStream": "streaming",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depdetect.doris' has no attribute {name!r}")
    module = _EXPORTS[name]
    return getattr(importlib.import_module(module if module.startswith(".") else f".{module}", __name__), name)


__all__ = sorted(_EXPORTS)
