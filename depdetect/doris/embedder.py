"""The text embedder DORIS uses for posts, templates and mood-course summaries.

Any object with `identifier: str`, `dimension: int` and `encode(texts: list[str]) -> np.ndarray` (one
L2-normalised float32 row per text) can stand in; `SentenceTransformerEmbedder` wraps sentence-transformers.
"""

from __future__ import annotations

import logging

import numpy as np

from ..utils import MINILM_HUB_ID, default_encoder_path

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """A sentence-transformers model; `name_or_path` None means the offline MiniLM.

    Args:
        name_or_path: a local folder or Hub id of a sentence-transformers model.
        identifier: what the saved DORIS config records (defaults to the Hub id for the bundled MiniLM, else
            `name_or_path`); `from_pretrained` loads the embedder back from it.
        batch_size: texts per forward pass; `encode` also feeds the model in chunks of `chunk_size` texts.
        device: "cpu", "cuda", ... (sentence-transformers picks one when None).
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        identifier: str | None = None,
        batch_size: int = 64,
        chunk_size: int = 4096,
        device: str | None = None,
    ):
        from sentence_transformers import SentenceTransformer

        if name_or_path is None or name_or_path == MINILM_HUB_ID:
            path, identifier = default_encoder_path(), identifier or MINILM_HUB_ID
        else:
            path, identifier = str(name_or_path), identifier or str(name_or_path)
        self.model = SentenceTransformer(path, device=device)
        self.identifier = identifier
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.chunk_size):
            chunk = texts[start : start + self.chunk_size]
            out[start : start + len(chunk)] = self.model.encode(
                chunk, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return out


def load_embedder(identifier: str | None, **kwargs) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(identifier, **kwargs)
