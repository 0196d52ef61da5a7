"""The `depression-scoring` pipeline of the MHIM dual encoder, saved with every dual-encoder model so that
`pipeline(model=folder_or_repo, trust_remote_code=True)` works where depdetect is not installed.

One interview in; `{"severity", "interval", "turns": [{"index", "prompt", "response", "attention"}, ...]}` out
(regression), or `{"label", "probability", "turns": [...]}` (classification).

This file travels to the Hub with saved models: it imports only torch and transformers.
"""

from __future__ import annotations

import re
import types
from typing import Any

import torch
from transformers import Pipeline

TASK = "depression-scoring"


def custom_pipelines() -> dict:
    """The `custom_pipelines` entry of a saved dual encoder's config.json (written by its `save_pretrained`)."""
    module = __name__.rsplit(".", 1)[-1]
    return {TASK: {"impl": f"{module}.DepressionScoringPipeline", "pt": ["AutoModel"], "type": "text"}}


def calibrate_probabilities(probabilities: torch.Tensor, calibration: dict | None) -> torch.Tensor:
    """Class probabilities (..., 2) under the calibration saved in the config (none: unchanged)."""
    if not calibration:
        return probabilities
    method = calibration.get("method")
    if method == "temperature":
        return (probabilities.double().clamp_min(1e-12).log() / float(calibration["temperature"])).softmax(-1)
    if method == "platt":
        p = probabilities[..., 1].double().clamp(1e-12, 1 - 1e-12)
        p = torch.sigmoid(float(calibration["a"]) * torch.logit(p) + float(calibration["b"]))
        return torch.stack([1 - p, p], dim=-1)
    raise ValueError(f"Unknown calibration {calibration!r} in the model's config.")


# Copied from depdetect.schemas.check_interview
def check_interview(interview: Any, where: str = "the interview") -> list[dict]:
    """Turns of one interview (a list of {prompt, response[, importance]} dicts, or a dict with `turns`), validated.

    An empty prompt is allowed (an interview can open with the participant); an empty response is not. Missing
    importance becomes -1 (unknown); otherwise it must be 1 or 0. A dict may instead give the importances as one
    list beside the turns (`{"turns": [...], "importance": [1, 0, ...]}`), one value per turn.
    """
    turns = interview.get("turns") if isinstance(interview, dict) else interview
    if not isinstance(turns, (list, tuple)):
        raise ValueError(f"{where} must be a list of {{'prompt', 'response'}} turns or a dict with 'turns', got "
                         f"{type(turns).__name__}.")
    if not turns:
        raise ValueError(f"{where} has no turns; pass at least one {{'prompt', 'response'}} turn.")
    importances = interview.get("importance") if isinstance(interview, dict) else None
    if importances is not None:
        if not isinstance(importances, (list, tuple)) or len(importances) != len(turns):
            got = f"{len(importances)} values" if isinstance(importances, (list, tuple)) else repr(importances)
            raise ValueError(f"{where}: `importance` must list one value (1, 0 or -1) per turn: {len(turns)} turns, "
                             f"got {got}.")
        turns = [{**turn, "importance": value} if isinstance(turn, dict) else turn
                 for turn, value in zip(turns, importances)]
    out = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ValueError(f"{where}, turn {i}: expected a dict with 'prompt' and 'response', got "
                             f"{type(turn).__name__}.")
        prompt = "" if turn.get("prompt") is None else turn.get("prompt")
        if not isinstance(prompt, str):
            raise ValueError(f"{where}, turn {i}: `prompt` must be a string, got {type(prompt).__name__}.")
        response = turn.get("response")
        for name, text in (("prompt", prompt), ("response", response)):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as err:
                    raise ValueError(
                        f"{where}, turn {i} `{name}` holds a lone surrogate (U+{ord(text[err.start]):04X} at "
                        f"character {err.start}), which is not valid Unicode text; re-read the file with its real "
                        "encoding."
                    ) from None
        if not isinstance(response, str) or not any(c.isprintable() and not c.isspace() for c in response):
            got = (
                "empty"
                if isinstance(response, str)
                else "None"
                if response is None
                else f"a {type(response).__name__}"
            )
            raise ValueError(f"{where}, turn {i} `response` is {got}; every turn needs a non-empty response string "
                             "(whitespace, control and zero-width characters alone do not count).")
        importance = -1 if turn.get("importance") is None else turn.get("importance")
        if importance not in (-1, 0, 1):
            raise ValueError(f"{where}, turn {i}: `importance` must be 1, 0 or -1 (unknown), got {importance!r}.")
        out.append({"prompt": prompt, "response": response, "importance": int(importance)})
    return out


# Copied from depdetect.hybrid.pipeline_hybrid.cut_text
def cut_text(text: str, max_tokens: int) -> str:
    """A prefix of `text` that still holds more than its first `max_tokens` tokens (every whitespace-separated word
    gives at least one token; 4 words per token and 200 characters per token are kept), so tokenising the prefix
    reads exactly the tokens the whole text would give, at a cost bounded by `max_tokens`, not by the text."""
    limit = 200 * (max_tokens + 1)
    end, words = min(len(text), limit), 4 * (max_tokens + 1)
    for count, match in enumerate(re.finditer(r"\S+", text[:end]), start=1):
        if count == words:
            end = match.end()
            break
    return text[:end]


# Copied from depdetect.hybrid.pipeline_hybrid.check_tokenizer
def check_tokenizer(tokenizer: Any, vocab_size: int | None, where: str) -> None:
    """Refuse a tokenizer that cannot be the model's: one knowing far fewer words than the model's embeddings
    (its vocabulary file is missing or damaged, so every word would become [UNK]), or more (ids out of range)."""
    size = len(tokenizer) if tokenizer is not None else None
    if isinstance(vocab_size, int) and size is not None and not vocab_size // 2 <= size <= vocab_size:
        raise ValueError(f"The tokenizer of {where} knows {size} tokens but the model's embeddings hold {vocab_size}: "
                         "its vocabulary file (tokenizer.json, vocab.txt, ...) is missing, damaged or another "
                         "model's. Copy the folder again from where it came (or train it again).")


def tokenize_turns(tokenizer, turns: list[dict], max_length: int, prompts: str = "keep", **kwargs):
    """Token ids of one interview's turns as the model reads them: prompt and response as a pair (truncated, the
    longer part first) with `prompts="keep"`; the response alone with `prompts="drop"`, so that no prompt token
    reaches the model (the DAIC-WOZ prompt-bias guard)."""
    responses = [cut_text(t["response"], max_length) for t in turns]
    if prompts == "drop":
        return tokenizer(responses, truncation=True, max_length=max_length, **kwargs)
    if prompts != "keep":
        raise ValueError(f"`prompts` must be 'keep' or 'drop', got {prompts!r}.")
    return tokenizer([cut_text(t["prompt"], max_length) for t in turns], responses, truncation="longest_first",
                     max_length=max_length,
                     **kwargs)


#: the dual encoder's explanations: the attention pooling's weight per turn (the paper's, always given) and
#: leave-one-turn-out occlusion
METHODS = ("attention", "occlusion")


def explanation_methods(explain: Any) -> tuple[str, ...]:
    """The methods an `explain` argument asks for: True or "attention" (the paper's), "occlusion", names joined by
    commas or a list; attention is always part of the output."""
    if isinstance(explain, bool):
        return ("attention",)
    names = explain.split(",") if isinstance(explain, str) else explain
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"`explain` must be True, a method name or a list of them, got {explain!r}.")
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ValueError(f"Unknown explanation method(s) {unknown or names!r}; choose from {', '.join(METHODS)}.")
    return tuple(m for m in METHODS if m in set(names) | {"attention"})


@torch.no_grad()
def kept_turns_outputs(model: Any, model_inputs: dict[str, Any], kept_lists: list[list[int]],
                       batch_size: int = 16) -> torch.Tensor:
    """The model's output for one interview (`model_inputs` of shape (1, N, T)) with only the turns of each kept
    list present, (len(kept_lists),): the severity (regression) or the logits (classification, (K, 2)). The other
    turns are hidden the way MHIM hides them (`instance_mask`): never encoded, skipped by the BiLSTM and the
    attention, as if deleted."""
    count = model_inputs["input_ids"].shape[1]
    outs = []
    for start in range(0, len(kept_lists), batch_size):
        chunk = kept_lists[start : start + batch_size]
        hidden = torch.ones(len(chunk), count, dtype=torch.long, device=model_inputs["input_ids"].device)
        for row, kept in enumerate(chunk):
            hidden[row, list(kept)] = 0
        inputs = {k: v.expand(len(chunk), *v.shape[1:]) for k, v in model_inputs.items() if torch.is_tensor(v)}
        out = model(**inputs, instance_mask=hidden)
        outs.append(out.logits.float() if model.config.num_labels == 2 else out.scores.float().reshape(-1))
    return torch.cat(outs)


def target_scores(outputs: torch.Tensor, target: int | None) -> list[float]:
    """Severity per output row, or the probability of class `target` (classification logits)."""
    if outputs.dim() == 1:
        return outputs.tolist()
    return outputs.softmax(-1)[:, target].tolist()


def _row(interview: Any, where: str) -> dict:
    return {"turns": check_interview(interview, where)}


class _CheckedInterviews(torch.utils.data.Dataset):
    """A dataset of interviews (rows, or turn lists such as KeyDataset(ds, "turns")) checked as they are read."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        return _row(self.dataset[i], f"interviews[{i}]")


class DepressionScoringPipeline(Pipeline):
    """Score an interview's depression severity and show how much attention each turn got.

    Input: one interview, as a list of `{"prompt", "response"}` turns or an `interviews`-schema row (a dict with
    `turns`); a list of such rows; or a generator or dataset of interviews (e.g. `KeyDataset(ds, "turns")`, which
    streams results back). Output per interview, turns in interview order with attention summing to 1: regression
    models give `{"severity", "turns"}` (the score on the training scale, e.g. PHQ-8 0-24); classification models
    give `{"label", "probability", "turns"}` (`label` control/depression, `probability` P(depression)). Turns longer
    than the model's `max_turn_length` tokens are truncated (longest of prompt and response first). Models saved
    with `prompts="drop"` read the responses only (the prompts are still shown in the output). An empty prompt
    is fine (an opening turn); an empty response is an error.

    Regression models saved with split-conformal intervals (fitted on validation by depdetect) add `interval`:
    `[low, high]` holds the true score with the saved coverage (`config.conformal["coverage"]`, 90% by default) for
    interviews like the validation ones (None when too few validation interviews made it unbounded), clipped to the
    scale of the training scores (`config.score_range`, e.g. [0, 24]: a score cannot lie below the scale).
    Classification models report the calibrated probability (temperature scaling saved in the config) and decide
    the label at the saved threshold; `calibrated=False` reports the uncalibrated one instead, and
    `return_uncalibrated=True` adds `uncalibrated_probability`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        encoder = self.model.config.sentence_encoder_config
        check_tokenizer(self.tokenizer, getattr(encoder, "vocab_size", None),
                        getattr(self.model.config, "_name_or_path", None) or "this model")

    def __call__(self, inputs, **kwargs):
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], dict) and "turns" in inputs[0]:
            checked = [_row(x, f"interviews[{i}]") for i, x in enumerate(inputs)]
        elif isinstance(inputs, torch.utils.data.Dataset):
            checked = _CheckedInterviews(inputs)
        elif isinstance(inputs, types.GeneratorType):
            checked = (_row(x, f"interviews[{i}]") for i, x in enumerate(inputs))
        else:
            checked = _row(inputs, "the interview")
        return super().__call__(checked, **kwargs)

    def _sanitize_parameters(self, calibrated: bool | None = None, return_uncalibrated: bool | None = None,
                             explain: Any = None, **kwargs):
        if kwargs:
            raise TypeError(f"Unknown argument(s) {sorted(kwargs)}; the depression-scoring pipeline takes "
                            "`explain`, `calibrated`, `return_uncalibrated` and transformers' "
                            "`batch_size`/`num_workers`.")
        postprocess, forward = {}, {}
        if explain is not None:
            forward["explain"] = explanation_methods(explain)
        if calibrated is not None:
            postprocess["calibrated"] = bool(calibrated)
        if return_uncalibrated is not None:
            postprocess["return_uncalibrated"] = bool(return_uncalibrated)
        return {}, forward, postprocess

    def preprocess(self, interview: dict[str, Any]) -> dict[str, Any]:
        turns = interview["turns"]
        config = self.model.config
        enc = tokenize_turns(self.tokenizer, turns, config.max_turn_length, getattr(config, "prompts", "keep"),
                             padding="max_length", return_tensors="pt")
        inputs = {key: value.unsqueeze(0) for key, value in enc.items()}  # (1, N, T)
        inputs["turn_mask"] = torch.ones(1, len(turns), dtype=torch.long)
        return {"turns": turns, **inputs}

    def _forward(self, model_inputs: dict[str, Any], explain: tuple[str, ...] = ("attention",)) -> dict[str, Any]:
        turns = model_inputs.pop("turns")
        out = self.model(**model_inputs)
        result = {"scores": out.scores, "attentions": out.attentions, "logits": out.logits, "turns": turns}
        if "occlusion" in explain:
            result["occlusion"] = self._occlusion(model_inputs, out)
        return result

    def _occlusion(self, model_inputs: dict[str, Any], out: Any) -> torch.Tensor:
        """(B, N): per interview of the batch, the severity (or P(label)) minus the same with the turn left out."""
        batch, width = model_inputs["input_ids"].shape[:2]
        turn_mask = model_inputs.get("turn_mask")
        result = torch.zeros(batch, width)
        for b in range(batch):
            count = int(turn_mask[b].sum()) if turn_mask is not None else width
            if count < 2:  # an interview of one turn has nothing left without it
                continue
            inputs = {k: v[b : b + 1, :count] for k, v in model_inputs.items() if torch.is_tensor(v)}
            target = self._label_index(out.logits[b]) if self.model.config.num_labels == 2 else None
            every = list(range(count))
            scores = target_scores(kept_turns_outputs(self.model, inputs, [every] + [every[:i] + every[i + 1:]
                                                                                    for i in every]), target)
            result[b, :count] = torch.tensor([scores[0] - s for s in scores[1:]])
        return result

    def _label_index(self, logits: torch.Tensor) -> int:
        """The class the pipeline reports for these logits (calibrated, at the saved threshold)."""
        config = self.model.config
        probabilities = calibrate_probabilities(logits.float().softmax(-1), getattr(config, "calibration", None))
        threshold = getattr(config, "decision_threshold", None)
        return int(float(probabilities[1]) >= threshold) if threshold is not None else int(probabilities.argmax())

    def postprocess(self, model_outputs: dict[str, Any], calibrated: bool = True,
                    return_uncalibrated: bool = False) -> dict[str, Any]:
        config = self.model.config
        turns = model_outputs["turns"]
        attention = model_outputs["attentions"][0].float().tolist()
        score = float(model_outputs["scores"][0])
        if config.num_labels == 2:
            raw = model_outputs["logits"][0].float().softmax(-1)
            probabilities = calibrate_probabilities(raw, getattr(config, "calibration", None))
            index = self._label_index(model_outputs["logits"][0])
            result: dict[str, Any] = {"label": config.id2label[index],
                                      "probability": float((probabilities if calibrated else raw)[1])}
            if return_uncalibrated:
                result["uncalibrated_probability"] = float(raw[1])
        else:
            result = {"severity": score}
            conformal = getattr(config, "conformal", None)
            if conformal:
                q = conformal.get("quantile")
                low, high = getattr(config, "score_range", None) or (-float("inf"), float("inf"))
                result["interval"] = None if q is None else [max(low, score - float(q)), min(high, score + float(q))]
        occlusion = model_outputs["occlusion"][0].tolist() if "occlusion" in model_outputs else None
        result["turns"] = [
            {"index": i, "prompt": t["prompt"], "response": t["response"], "attention": attention[i],
             **({} if occlusion is None else {"occlusion": occlusion[i]})}
            for i, t in enumerate(turns)
        ]
        return result


__all__ = ["DepressionScoringPipeline", "METHODS", "TASK", "calibrate_probabilities", "check_interview",
           "custom_pipelines", "explanation_methods", "kept_turns_outputs", "target_scores", "tokenize_turns"]
