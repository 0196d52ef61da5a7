"""Fine-tuning depdetect's torch models the way Hub models are fine-tuned: `transformers.Trainer`, PEFT, your loop.

depdetect's own loop (`depdetect train ...`) is one way; these helpers make the others right:

- `lora_config(model)`: a PEFT `LoraConfig` for the *whole* Hybrid: LoRA on the pretrained encoder's attention, and
  every layer the model adds (BiLSTM, CNN, fully connected layer, classifier) trained in full (`modules_to_save`). A
  bare `LoraConfig(target_modules=...)` leaves those layers frozen at their random initialisation. (The dual encoder
  is trained without PEFT: its encoders are frozen by design, and PEFT would confuse its `attention` pooling with
  the encoders' attention layers; `lora_config` says so.)
- `InterviewCollator` and `tokenize_interviews` (depdetect.dual_encoder.data, exported by `depdetect`): the dual
  encoder's data collator for `Trainer` (with `remove_unused_columns=False`).
- `score_normalization(scores)`: the dual encoder's `score_mean`, `score_std` and `score_range` from the training
  scores (its regression loss runs on the standardised scale; without them it runs on the raw one).
- `save_for_hub(model, folder, tokenizer)`: a folder `pipeline(model=folder, trust_remote_code=True)` runs and
  `depdetect push` publishes: LoRA merged into the weights, safetensors only (no `training_args.bin`, the pickle
  `Trainer.save_model` writes beside the model).

Both model classes set `accepts_loss_kwargs = False`, so `Trainer` scales their (mean) loss for gradient accumulation
itself: batch 4 x 4 accumulation steps gives the loss and gradient of one batch of 16 (tests/test_finetune.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from torch import nn
from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

#: the attention projections LoRA adapts by default (BERT-style encoders, MiniLM included)
ATTENTION_MODULES = ("query", "key", "value")


def _parts(model: nn.Module) -> tuple[list[str], list[str]]:
    """(the model's pretrained encoders, the layers it adds that hold parameters), by attribute name; a ModuleList
    is named item by item (PEFT wraps modules, and a wrapped list could not be iterated)."""
    encoders, added = [], []
    for name, child in model.named_children():
        if isinstance(child, PreTrainedModel):
            encoders.append(name)
        elif isinstance(child, nn.ModuleList):
            added += [f"{name}.{i}" for i, item in enumerate(child) if any(True for _ in item.parameters())]
        elif any(True for _ in child.parameters()):
            added.append(name)
    return encoders, added


def lora_config(model: nn.Module, r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.1,
                target_modules: Iterable[str] = ATTENTION_MODULES, encoders: Iterable[str] | None = None):
    """A `peft.LoraConfig` that fine-tunes the whole depdetect model: LoRA (rank `r`) on `target_modules` of its
    pretrained encoders, every added layer trained in full.

    Args:
        model: a `HybridForSequenceClassification` (before `get_peft_model`).
        target_modules: the encoder's linear layers to adapt, by their last name (BERT: query, key, value, dense).
        encoders: the pretrained encoders LoRA goes into, by attribute name (default: all; the Hybrid has one,
            `encoder`).

    Use: `peft_model = get_peft_model(model, lora_config(model))`, train, then `save_for_hub(peft_model, folder,
    tokenizer)` (it merges LoRA into the weights).
    """
    from peft import LoraConfig

    found, added = _parts(model)
    encoders = found if encoders is None else list(encoders)
    unknown = sorted(set(encoders) - set(found))
    if unknown or not encoders:
        raise ValueError(f"{type(model).__name__} has no pretrained encoder named {unknown or '(none given)'}; it "
                         f"has {found}.")
    targets = "|".join(dict.fromkeys(target_modules))
    if not targets:
        raise ValueError("`target_modules` is empty: name the encoder's linear layers LoRA should adapt "
                         f"(default {list(ATTENTION_MODULES)}).")
    inner = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if "." in name}
    clash = sorted(name for name in added if name.split(".")[0] in inner)
    if clash:  # PEFT finds modules_to_save by their last name, anywhere in the model
        raise ValueError(
            f"{type(model).__name__}'s layers {clash} share their names with layers inside its encoders, so PEFT's "
            "modules_to_save would catch both. Train this model without PEFT: its encoders stay frozen by design "
            "and only its added layers train (`depdetect train`, or transformers' Trainer on the model itself).")
    # a regular expression (PEFT matches it against the whole module name): only inside the chosen encoders
    pattern = rf"^({'|'.join(encoders)})\..*\.({targets})$"
    if not any(re.match(pattern, name) for name, _ in model.named_modules()):
        raise ValueError(f"No module of {encoders} ends in {sorted(set(target_modules))}: name the encoder's linear "
                         "layers in `target_modules` (print(model) lists them).")
    return LoraConfig(r=r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, bias="none", target_modules=pattern,
                      modules_to_save=added)


def score_normalization(scores: Iterable[float]) -> dict:
    """The dual encoder's `score_mean`, `score_std` (population, 1.0 for a constant score) and `score_range` from
    the training interviews' scores (NaN, an interview without a score, is skipped): pass them to
    `DualEncoderForDepressionScoring.from_encoders(..., **score_normalization(train["score"]))` or
    `model.config.update(...)` before training; the loss then runs on the standardised scale and predictions
    come back on the score's."""
    values = np.asarray(list(scores), dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("No training interview has a score: score normalisation needs the training scores "
                         "(for classification, num_labels=2, it is not used).")
    return {"score_mean": float(values.mean()), "score_std": float(values.std()) or 1.0,
            "score_range": [float(values.min()), float(values.max())]}


def save_for_hub(model: nn.Module, folder: str | Path, tokenizer=None) -> Path:
    """Save a fine-tuned model (a `Trainer`'s `trainer.model`, a PEFT model, or the plain model) as a folder that
    runs in `pipeline(model=folder, trust_remote_code=True)` without depdetect and that `depdetect push` accepts:
    LoRA merged into the weights (PEFT's `merge_and_unload`), the model's remote code and pipeline beside its
    safetensors, the tokenizer when given, and nothing pickled."""
    folder = Path(folder)
    if hasattr(model, "merge_and_unload"):  # a PeftModel around the whole model
        model = model.merge_and_unload()
    for name, child in list(model.named_children()):  # LoRA put on an encoder alone (depdetect's --lora_r path)
        if hasattr(child, "merge_and_unload"):
            setattr(model, name, child.merge_and_unload())
    model.save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    stray = folder / "training_args.bin"
    if stray.exists():  # left by an earlier trainer.save_model into the same folder
        stray.unlink()
        logger.warning("Removed %s: transformers.Trainer's pickled arguments do not go to the Hub.", stray)
    return folder
