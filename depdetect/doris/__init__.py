"""DORIS (arXiv 2403.10750): symptom-guided, mood-aware user-level depression detection.

Components: `DorisConfig` (settings and fitted cut-offs), `DorisPipeline` (fit/predict/explain/save/load),
embedders (`SentenceTransformerEmbedder`), annotators (`EmbeddingAnnotator`, `TransformersAnnotator`,
`OpenAIAnnotator`, `make_annotator`), the templates and prompts, and the feature functions.
"""

from __future__ import annotations

from .annotators import EmbeddingAnnotator, LLMAnnotator, OpenAIAnnotator, TransformersAnnotator, make_annotator
from .config import DorisConfig
from .embedder import SentenceTransformerEmbedder
from .features import risk_scores, top_percent_cutoff, user_features
from .pipeline import DorisPipeline
from .templates import EMOTIONS, PROMPT_VERSIONS, SYMPTOMS, parse_symptom_answer

__all__ = [
    "DorisConfig",
    "DorisPipeline",
    "EMOTIONS",
    "EmbeddingAnnotator",
    "LLMAnnotator",
    "OpenAIAnnotator",
    "PROMPT_VERSIONS",
    "SYMPTOMS",
    "SentenceTransformerEmbedder",
    "TransformersAnnotator",
    "make_annotator",
    "parse_symptom_answer",
    "risk_scores",
    "top_percent_cutoff",
    "user_features",
]
