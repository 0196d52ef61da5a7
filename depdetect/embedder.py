"""The sentence embedder: DORIS embeds posts, templates and mood-course summaries with it, and the mean-embedding
baseline (depdetect.baselines) embeds the documents it compares against.

Any object with `identifier: str`, `dimension: int` and `encode(texts: list[str]) -> np.ndarray` (one
L2-normalised float32 row per text) can stand in; `SentenceTransformerEmbedder` wraps sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from .utils import MINILM_HUB_ID, default_encoder_path, looks_like_path, public_name

logger = logging.getLogger(__name__)


#: texts are cut after this many words per token of the model's window (4: a wide margin over "a word is a token")
WORDS_PER_TOKEN_WINDOW = 4
_WORD = re.compile(r"\S+")


def cut_words(text: str, words: int) -> str:
    """`text` up to the end of its `words`-th whitespace-separated word (the text itself when it has no more)."""
    if len(text) < 2 * words:  # too short to hold more than `words` words
        return text
    end = None
    for count, match in enumerate(_WORD.finditer(text), start=1):
        if count == words:
            end = match.end()
            break
    return text if end is None else text[:end]


class SentenceTransformerEmbedder:
    """A sentence-transformers model; `name_or_path` None means the offline MiniLM.

    Args:
        name_or_path: a local folder or Hub id of a sentence-transformers model.
        identifier: what the saved DORIS config records (defaults to the Hub id for the bundled MiniLM, a Hub id
            as given, a local folder by its name only); `DorisPipeline.from_pretrained` loads the embedder back
            from it (a Hub id from the Hub cache, or a folder of that name inside the saved pipeline's folder).
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
        else:  # a local path is recorded by its last part only: no local path goes into a saved config
            path, identifier = str(name_or_path), identifier or public_name(name_or_path)
        self.model = SentenceTransformer(path, device=device)
        self.identifier = identifier
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings. A text longer than WORDS_PER_TOKEN_WINDOW x the model's `max_seq_length`
        words is cut there before tokenizing: the model reads only its first `max_seq_length` tokens, and every
        whitespace-separated word is at least one token (unless it holds only characters the tokenizer drops), so
        the tokens it reads are the same and the cost of a long text (a mood course listing a thousand posts)
        stays bounded."""
        limit = getattr(self.model, "max_seq_length", None)
        if limit:
            texts = [cut_words(t, WORDS_PER_TOKEN_WINDOW * int(limit)) for t in texts]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.chunk_size):
            chunk = texts[start : start + self.chunk_size]
            out[start : start + len(chunk)] = self.model.encode(
                chunk, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return out


class MeanPoolingEmbedder:
    """The bundled MiniLM (or another mean-pooling sentence encoder folder) with transformers alone: token states
    averaged over real tokens and L2-normalised, the text cut at the model's `max_seq_length`
    (sentence_bert_config.json) as sentence-transformers does; its embeddings equal `SentenceTransformerEmbedder`'s
    (tests/test_extras.py). The mean-embedding baseline uses it, so the core install (without
    sentence-transformers) reports both baselines."""

    def __init__(self, name_or_path: str | None = None, batch_size: int = 64, device: str | None = None):
        from transformers import AutoModel, AutoTokenizer

        bundled = name_or_path in (None, MINILM_HUB_ID)  # the Hub id means the bundled copy, as for the other
        path = default_encoder_path() if bundled else str(name_or_path)
        self.identifier = MINILM_HUB_ID if bundled else public_name(path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval().to(device or "cpu")
        settings = Path(path) / "sentence_bert_config.json"
        limit = json.loads(settings.read_text()).get("max_seq_length") if settings.is_file() else None
        self.max_seq_length = int(limit or min(self.tokenizer.model_max_length, 512))
        self.batch_size, self.dimension = batch_size, int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings (long texts cut as `SentenceTransformerEmbedder.encode` cuts them)."""
        import torch

        texts = [cut_words(t, WORDS_PER_TOKEN_WINDOW * self.max_seq_length) for t in texts]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start:start + self.batch_size]
                batch = self.tokenizer([texts[i] for i in index], truncation=True, max_length=self.max_seq_length,
                                       padding=True, return_tensors="pt").to(self.model.device)
                states = self.model(**batch).last_hidden_state
                weights = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                out[index] = torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy()
        return out


def load_embedder(identifier: str | None, **kwargs) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(identifier, **kwargs)


def resolve_saved_embedder(identifier: str, folder: str | Path, **kwargs) -> SentenceTransformerEmbedder:
    """The embedder a saved pipeline names, found without reading outside its folder or the Hub cache: the bundled
    MiniLM, a folder of that name inside `folder`, or a Hub id (from the cache when offline)."""
    folder = Path(folder).resolve()
    if identifier in (None, MINILM_HUB_ID):
        return SentenceTransformerEmbedder(None, **kwargs)
    inside = (folder / str(identifier)).resolve()
    if inside.is_dir() and inside.is_relative_to(folder):
        return SentenceTransformerEmbedder(str(inside), identifier=identifier, **kwargs)
    text = str(identifier)
    hint = (f"copy the model into {folder} as a folder named {Path(text).name!r}, or pass "
            "embedder=SentenceTransformerEmbedder(PATH) to DorisPipeline.from_pretrained")
    if looks_like_path(text):
        raise ValueError(f"The saved config names the embedder {text!r}, a path outside the pipeline folder; "
                         f"depdetect loads nothing from outside a saved folder on its own: {hint}.")
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(text)
    except Exception as err:  # not a Hub id, not cached offline, no access
        raise ValueError(f"The saved config names the embedder {text!r}, which is neither in the pipeline folder nor "
                         f"a Hub model that could be loaded ({type(err).__name__}); {hint}.") from err
    return SentenceTransformerEmbedder(path, identifier=text, **kwargs)
