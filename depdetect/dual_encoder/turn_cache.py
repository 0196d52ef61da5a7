"""Sentence encodings of interview turns, computed once per training run.

The dual encoder's sentence encoder is frozen by default (and then runs without dropout), so a turn's sentence
encoding depends on its tokens alone: `TurnEncodingCache` encodes each distinct turn of every split once, in
length-sorted chunks (little padding), and adds them to each batch as `sentence_embeddings`, so that epochs and both
MHIM phases skip the encoder. The loss, gradients and scores are those of the uncached model (tested to 1e-6).
"""

from __future__ import annotations

import logging
import time

import torch

logger = logging.getLogger(__name__)


def turn_key(ids, types) -> bytes:
    """A turn's identity: its token ids and token types (lists or 1-D tensors without padding)."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    types = torch.as_tensor(types, dtype=torch.long)
    return ids.numpy().tobytes() + b"|" + types.numpy().tobytes()


class TurnEncodingCache:
    """Precomputed sentence encodings of turns, looked up by their tokens (see the module docstring).

    Args:
        model: a `DualEncoderForDepressionScoring` whose sentence encoder is frozen (its weights never change
            during the run, so the receiver of Phase 2 shares the cache).
        chunk_size: turns per encoder call (default: the model's `encoder_batch_size`).
    """

    def __init__(self, model, chunk_size: int | None = None):
        if model.config.train_sentence_encoder:
            raise ValueError("The sentence encoder trains (train_sentence_encoder=True): its encodings change every "
                             "step and cannot be cached.")
        self.model = model
        self.chunk_size = chunk_size or model.config.encoder_batch_size
        self.store: dict[bytes, torch.Tensor] = {}
        self.seconds = 0.0

    @torch.no_grad()
    def encode(self, turns: list[tuple[list[int], list[int]]]) -> None:
        """Encode the given (ids, token types) turns not yet stored, longest first in chunks of similar length."""
        pending = {}
        for ids, types in turns:
            key = turn_key(ids, types)
            if key not in self.store:
                pending[key] = (torch.as_tensor(ids).tolist(), torch.as_tensor(types).tolist())
        if not pending:
            return
        start = time.perf_counter()
        model, pad = self.model, self.model.config.prefix_encoder_config.pad_token_id or 0
        device = next(model.sentence_encoder.parameters()).device  # frozen, so in eval mode (the model's train())
        items = sorted(pending.items(), key=lambda item: len(item[1][0]), reverse=True)
        for i in range(0, len(items), self.chunk_size):
            chunk = items[i : i + self.chunk_size]
            width = len(chunk[0][1][0])
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            types = torch.zeros((len(chunk), width), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, (_, (turn_ids, turn_types)) in enumerate(chunk):
                ids[row, : len(turn_ids)] = torch.tensor(turn_ids)
                types[row, : len(turn_types)] = torch.tensor(turn_types)
                mask[row, : len(turn_ids)] = 1
            encoded = model.sentence_encodings(ids.to(device), mask.to(device), types.to(device)).float().cpu()
            for row, (key, _) in enumerate(chunk):
                self.store[key] = encoded[row]
        self.seconds += time.perf_counter() - start
        logger.info("Encoded %d distinct turns with the frozen sentence encoder (%.1fs).", len(pending),
                    time.perf_counter() - start)

    def fill(self, tokenized) -> None:
        """Encode every turn of a tokenized interviews Dataset or DatasetDict (`turn_input_ids`,
        `turn_token_type_ids`, from `tokenize_interviews`)."""
        splits = tokenized.values() if hasattr(tokenized, "values") else [tokenized]
        turns = []
        for split in splits:
            for ids_list, types_list in zip(split["turn_input_ids"], split["turn_token_type_ids"]):
                turns.extend(zip(ids_list, types_list))
        self.encode(turns)

    @torch.no_grad()
    def attach(self, batch: dict) -> dict:
        """The batch with `sentence_embeddings` (B, N, Hs) for its real turns (turns not seen yet are encoded
        now); other keys are kept as they are."""
        input_ids = batch["input_ids"].cpu()
        types = batch.get("token_type_ids")
        types = torch.zeros_like(input_ids) if types is None else types.cpu()
        lengths = batch["attention_mask"].sum(-1).cpu()  # (B, N)
        real = batch["turn_mask"].cpu().bool()
        keys = {}
        for b, i in real.nonzero().tolist():
            n = int(lengths[b, i])
            keys[(b, i)] = (input_ids[b, i, :n], types[b, i, :n])
        self.encode(list(keys.values()))
        size = self.model.config.sentence_encoder_config.hidden_size
        out = torch.zeros(*input_ids.shape[:2], size)
        for (b, i), (ids, turn_types) in keys.items():
            out[b, i] = self.store[turn_key(ids, turn_types)]
        return {**batch, "sentence_embeddings": out.to(batch["input_ids"].device)}
