"""The `interviews` schema of the dual encoder: validation, loaders, tokenisation and the batch collator."""

from __future__ import annotations

import math

import torch
from datasets import Dataset, DatasetDict

from ..data import (  # noqa: F401 (the shared interviews schema, re-exported)
    INTERVIEWS_FEATURES,
    TURN_FEATURES,
    check_score_and_label,
    check_turns,
    complete_splits,
    interviews_from_records,
    record_splits,
)
from .pipeline_dual_encoder import tokenize_turns


def load_interviews(data_args, seed: int = 42) -> DatasetDict:
    """An `interviews` DatasetDict from JSON Lines/Parquet files (one interview a record) or a dataset.

    Missing validation/test splits are carved from the training data (15% each, stratified by label when every
    interview has one).
    """
    if data_args is None or not data_args.user_supplied:
        raise ValueError(
            "The dual encoder has no bundled corpus: pass --train_file (interviews JSONL) or --dataset_name "
            "(e.g. from `depdetect data esconv` or `depdetect data daic-woz`)."
        )
    splits = record_splits(interviews_from_records, data_args, "interviews")
    return complete_splits(splits, seed, stratify="label" if min(splits["train"]["label"]) >= 0 else None)


def tokenize_interviews(dataset: Dataset | DatasetDict, tokenizer, max_turn_length: int, prompts: str = "keep"):
    """Add per-turn token ids for the interview collator: prompt/response pairs (truncated, longest part first), or
    the responses alone with `prompts="drop"`."""

    def encode(batch):
        out = {"turn_input_ids": [], "turn_token_type_ids": [], "turn_importance": []}
        for turns in batch["turns"]:
            out["turn_importance"].append([t["importance"] for t in turns])
            enc = tokenize_turns(tokenizer, turns, max_turn_length, prompts)
            out["turn_input_ids"].append(enc["input_ids"])
            out["turn_token_type_ids"].append(enc.get("token_type_ids", [[0] * len(x) for x in enc["input_ids"]]))
        return out

    return dataset.map(encode, batched=True)


class InterviewCollator:
    """Pad tokenised interviews (rows of `tokenize_interviews`) to (B, N turns, T tokens) tensors; `labels` from
    `score` (num_labels=1) or `label` (2; with `score_threshold`, from the score where the label is missing).

    The data collator for transformers' `Trainer` too: `Trainer(model, TrainingArguments(...,
    remove_unused_columns=False), train_dataset=tokenized, data_collator=InterviewCollator(tokenizer.pad_token_id))`
    (README, "Fine-tuning with transformers' Trainer and PEFT").
    """

    def __init__(self, pad_token_id: int, num_labels: int = 1, score_threshold: float | None = None):
        self.pad_token_id, self.num_labels, self.score_threshold = pad_token_id, num_labels, score_threshold

    def labels(self, rows: list[dict]) -> torch.Tensor:
        if self.num_labels == 1:
            return torch.tensor([float(r["score"]) for r in rows], dtype=torch.float32)
        labels = []
        for r in rows:
            label = r.get("label", -1)
            if label == -1 and self.score_threshold is not None and not math.isnan(r["score"]):
                label = int(r["score"] >= self.score_threshold)
            if label not in (0, 1):
                raise ValueError(f"Interview {r.get('interview_id')!r} has neither a label nor a score to derive one "
                                 "from.")
            labels.append(label)
        return torch.tensor(labels, dtype=torch.long)

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        if not rows or "turn_input_ids" not in rows[0]:
            raise ValueError(
                f"The interview rows have no `turn_input_ids` (they hold {sorted(rows[0]) if rows else 'nothing'}): "
                "tokenize them first with `depdetect.tokenize_interviews(dataset, tokenizer, max_turn_length)`. Under "
                "transformers' Trainer, pass `TrainingArguments(..., remove_unused_columns=False)`: by default "
                "Trainer drops the columns the model's forward does not name, and the turns' tokens are among them.")
        n = max(len(r["turn_input_ids"]) for r in rows)
        t = max(len(ids) for r in rows for ids in r["turn_input_ids"])
        input_ids = torch.full((len(rows), n, t), self.pad_token_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(rows), n, t), dtype=torch.long)
        attention_mask = torch.zeros((len(rows), n, t), dtype=torch.long)
        turn_mask = torch.zeros((len(rows), n), dtype=torch.long)
        importance = torch.full((len(rows), n), -1, dtype=torch.long)
        for b, r in enumerate(rows):
            for i, (ids, types) in enumerate(zip(r["turn_input_ids"], r["turn_token_type_ids"])):
                input_ids[b, i, : len(ids)] = torch.tensor(ids)
                token_type_ids[b, i, : len(types)] = torch.tensor(types)
                attention_mask[b, i, : len(ids)] = 1
            turn_mask[b, : len(r["turn_input_ids"])] = 1
            if "turn_importance" in r:
                importance[b, : len(r["turn_importance"])] = torch.tensor(r["turn_importance"])
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
            "turn_mask": turn_mask,
            "labels": self.labels(rows),
        }
        # meta keys (depdetect.dual_encoder.mhim.META_KEYS): read by evaluation and MHIM, not model inputs
        batch["importance"] = importance
        if "index" in rows[0]:
            batch["index"] = torch.tensor([r["index"] for r in rows], dtype=torch.long)
        return batch
