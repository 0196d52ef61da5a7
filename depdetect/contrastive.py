"""A contrastive warm-up of a pretrained encoder on pairs drawn from the training data: SetFit's first stage.

SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts") fine-tunes a sentence encoder on
pairs of training texts, pulling texts of one label together and pushing texts of different labels apart
(sentence-transformers' `CosineSimilarityLoss` on the mean-pooled token states: the cosine of a same-label pair is
regressed to 1, of a mixed pair to 0), before it fits a classifier on the embeddings. depdetect uses the first stage
as a warm-up of the Hybrid's encoder before supervised training (`depdetect train hybrid --contrastive_pairs N`).

Pairs: half same-label (the classes taken in turn, so a 1:10 task still gets as many depression-depression pairs as
control-control ones), half mixed, drawn with the run's seed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

logger = logging.getLogger(__name__)


def sample_pairs(labels: Sequence[int], count: int, seed: int) -> list[tuple[int, int, float]]:
    """`count` pairs (i, j, 1.0 for the same label / 0.0 for different labels) of indices into `labels`: even
    positions same-label (each class with two or more examples in turn), odd positions mixed."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("Contrastive pairs need examples of at least two labels; the training split has "
                         f"{len(classes)}.")
    members = {c: np.flatnonzero(labels == c) for c in classes}
    pairable = [c for c in classes if len(members[c]) >= 2]
    rng = np.random.default_rng(seed)
    pairs = []
    for k in range(count):
        if k % 2 == 0 and pairable:
            i, j = rng.choice(members[pairable[(k // 2) % len(pairable)]], 2, replace=False)
            pairs.append((int(i), int(j), 1.0))
        else:
            a, b = rng.choice(classes, 2, replace=False)
            pairs.append((int(rng.choice(members[a])), int(rng.choice(members[b])), 0.0))
    return pairs


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token states over real tokens (sentence-transformers' default pooling): (B, T, D) -> (B, D)."""
    weights = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def cosine_similarity_loss(first: torch.Tensor, second: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' CosineSimilarityLoss: the mean squared error between each pair's cosine and its
    label (1 same, 0 different). Written out so that the core install (no sentence-transformers) runs it; a test
    compares it with theirs."""
    cosine = torch.cosine_similarity(first, second)
    return torch.nn.functional.mse_loss(cosine, target.to(cosine.dtype))


def contrastive_warmup(encoder: torch.nn.Module, tokenizer, texts: Sequence[str], labels: Sequence[int], count: int,
                       *, max_length: int, learning_rate: float = 2e-5, batch_size: int = 16, seed: int = 42,
                       max_grad_norm: float = 1.0) -> dict:
    """Train `encoder` (an AutoModel; its trainable parameters only, so LoRA stays LoRA) in place for one pass over
    `count` pairs of `texts`, with AdamW, a 10% linear warm-up and sentence-transformers' CosineSimilarityLoss
    (the squared error between a pair's cosine and its label).
    Returns what it did: pairs, steps, the mean loss of the first and last tenth of the steps, seconds."""
    if count < 1:
        raise ValueError(f"`contrastive_pairs` must be >= 1 to warm up, got {count}.")
    pairs = sample_pairs(labels, count, seed)
    device = next(encoder.parameters()).device
    parameters = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate)
    steps = math.ceil(len(pairs) / batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)

    def embed(indices):
        batch = tokenizer([texts[i] for i in indices], truncation=True, max_length=max_length, padding=True,
                          return_tensors="pt").to(device)
        return mean_pool(encoder(**batch).last_hidden_state, batch["attention_mask"])

    encoder.train()
    losses, start = [], time.perf_counter()
    for first in range(0, len(pairs), batch_size):
        chunk = pairs[first:first + batch_size]
        target = torch.tensor([p[2] for p in chunk], device=device)
        loss = cosine_similarity_loss(embed([p[0] for p in chunk]), embed([p[1] for p in chunk]), target)
        loss.backward()
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    tenth = max(1, len(losses) // 10)
    done = {"pairs": len(pairs), "same_label_pairs": sum(p[2] == 1.0 for p in pairs), "steps": len(losses),
            "loss_first_tenth": float(np.mean(losses[:tenth])), "loss_last_tenth": float(np.mean(losses[-tenth:])),
            "seconds": time.perf_counter() - start}
    logger.info("contrastive warm-up: %d pairs, %d steps, loss %.4f -> %.4f, %.0f s", done["pairs"], done["steps"],
                done["loss_first_tenth"], done["loss_last_tenth"], done["seconds"])
    return done
