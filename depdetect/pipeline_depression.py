"""Pipelines of depdetect models, saved with each model so that `pipeline(model=..., trust_remote_code=True)` works.

`depression-detection`: one text in, `{"label", "score", "tokens": [{"token", "awvti", "nas"}, ...]}` out.

This file travels to the Hub with saved models: it imports only torch and transformers.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Pipeline


def check_text(text: object, where: str = "text") -> str:
    """Return `text` if it is a non-empty string, else raise a `ValueError` that says what to fix."""
    if text is None:
        raise ValueError(f"{where} is None; expected a non-empty string. Drop or fill missing texts first.")
    if not isinstance(text, str):
        raise ValueError(f"{where} is a {type(text).__name__} ({text!r:.40}); expected a non-empty string.")
    if not text.strip():
        raise ValueError(f"{where} is empty or only whitespace; expected a non-empty string.")
    return text


def check_texts(texts: Any, what: str = "inputs") -> list[str]:
    """Validate every text of a list at once, so a mixed list fails before any work is done."""
    texts = list(texts)
    if not texts:
        raise ValueError(f"{what} is an empty list; pass at least one non-empty string.")
    return [check_text(t, f"{what}[{i}]") for i, t in enumerate(texts)]


class DepressionDetectionPipeline(Pipeline):
    """Classify texts as depression / control and explain each prediction word by word.

    Call it with a string or a list of strings. Each result is
    `{"label", "score", "truncated", "tokens": [{"token", "awvti", "nas"}, ...]}`: `tokens` are the words of the
    text in order (word pieces merged, special tokens and padding left out), `awvti` the attention each word
    receives from [CLS] summed over layers and heads (eq. 10 of the paper, summed over the word's pieces), `nas`
    the same averaged and normalised so the words of a text sum to 1 (eq. 11). Texts longer than the model's
    `max_length` tokens are truncated (`truncated` is then `True`, and only the kept words are explained).

    Keyword arguments: `explain=False` skips the explanations (fast attention, no `tokens`), `max_length`
    overrides the truncation length.
    """

    def __call__(self, inputs, **kwargs):
        if isinstance(inputs, (list, tuple)):
            check_texts(inputs)
        else:
            check_text(inputs, "the input")
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(self, explain: bool | None = None, max_length: int | None = None, **kwargs):
        preprocess, forward = {}, {}
        if max_length is not None:
            if int(max_length) <= 0:
                raise ValueError(f"`max_length` must be > 0, got {max_length}.")
            preprocess["max_length"] = int(max_length)
        if explain is not None:
            forward["explain"] = bool(explain)
        return preprocess, forward, {}

    def preprocess(self, text: str, max_length: int | None = None) -> dict[str, Any]:
        max_length = max_length or getattr(self.model.config, "max_length", None) or self.tokenizer.model_max_length
        enc = self.tokenizer(
            text,
            truncation=True,
            max_length=max_length,
            return_special_tokens_mask=True,
            return_offsets_mapping=True,
            return_overflowing_tokens=False,
            return_tensors="pt",
        )
        word_ids = [-1 if w is None else w for w in enc.word_ids(0)]
        encoding = enc.encodings[0] if enc.encodings else None
        truncated = bool(encoding is not None and encoding.overflowing)
        enc["word_ids"] = torch.tensor([word_ids])
        return {"text": text, "truncated": truncated, **enc}

    def _forward(self, model_inputs: dict[str, Any], explain: bool = True) -> dict[str, Any]:
        meta = {k: model_inputs.pop(k) for k in ("text", "truncated", "offset_mapping", "word_ids")}
        special = model_inputs.pop("special_tokens_mask")
        if explain:
            out = self.model.explain(special_tokens_mask=special, **model_inputs)
            result = {"logits": out.logits, "awvti": out.awvti, "nas": out.nas}
        else:
            result = {"logits": self.model(**model_inputs).logits}
        return {**result, **meta, "attention_mask": model_inputs["attention_mask"]}

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        probabilities = model_outputs["logits"][0].float().softmax(-1)
        index = int(probabilities.argmax())
        result = {
            "label": self.model.config.id2label[index],
            "score": float(probabilities[index]),
            "truncated": bool(model_outputs["truncated"]),
        }
        if "nas" in model_outputs:
            result["tokens"] = self._words(model_outputs)
        return result

    @staticmethod
    def _words(outputs: dict[str, Any]) -> list[dict[str, Any]]:
        """Merge word pieces into words: their text span, and the sum of their scores."""
        text = outputs["text"]
        real = outputs["attention_mask"][0].bool()
        word_ids = outputs["word_ids"][0][real].tolist()
        offsets = outputs["offset_mapping"][0][real].tolist()
        awvti, nas = outputs["awvti"][0][real].tolist(), outputs["nas"][0][real].tolist()
        words: list[dict[str, Any]] = []
        current = None
        for word_id, (start, end), a, n in zip(word_ids, offsets, awvti, nas):
            if word_id < 0:  # special token
                current = None
                continue
            if current is not None and current["id"] == word_id:
                current["end"] = end
                current["awvti"] += a
                current["nas"] += n
            else:
                current = {"id": word_id, "start": start, "end": end, "awvti": a, "nas": n}
                words.append(current)
        return [{"token": text[w["start"]:w["end"]], "awvti": float(w["awvti"]), "nas": float(w["nas"])} for w in words]


def check_interview(interview: Any, where: str = "the interview") -> list[dict]:
    """Turns of one interview (a list of {prompt, response[, importance]} dicts, or a dict with `turns`), validated.

    An empty prompt is allowed (an interview can open with the participant); an empty response is not. Missing
    importance becomes -1 (unknown); otherwise it must be 1 or 0.
    """
    turns = interview.get("turns") if isinstance(interview, dict) else interview
    if not isinstance(turns, (list, tuple)):
        raise ValueError(f"{where} must be a list of {{'prompt', 'response'}} turns or a dict with 'turns', got {type(turns).__name__}.")
    if not turns:
        raise ValueError(f"{where} has no turns; pass at least one {{'prompt', 'response'}} turn.")
    out = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ValueError(f"{where}, turn {i}: expected a dict with 'prompt' and 'response', got {type(turn).__name__}.")
        prompt = "" if turn.get("prompt") is None else turn.get("prompt")
        if not isinstance(prompt, str):
            raise ValueError(f"{where}, turn {i}: `prompt` must be a string, got {type(prompt).__name__}.")
        response = check_text(turn.get("response"), f"{where}, turn {i} `response`")
        importance = -1 if turn.get("importance") is None else turn.get("importance")
        if importance not in (-1, 0, 1):
            raise ValueError(f"{where}, turn {i}: `importance` must be 1, 0 or -1 (unknown), got {importance!r}.")
        out.append({"prompt": prompt, "response": response, "importance": int(importance)})
    return out


class DepressionScoringPipeline(Pipeline):
    """Score an interview's depression severity and show how much attention each turn got.

    Input: one interview, as a list of `{"prompt", "response"}` turns or an `interviews`-schema row (a dict with
    `turns`); or a list of such rows. Output per interview: `{"score", "turns": [{"index", "prompt", "response",
    "attention"}, ...]}` in interview order (attention sums to 1 over the turns); classification models add
    `"label"` and `"probability"` (of the positive class, which is also `score`). Turns longer than the model's
    `max_turn_length` tokens are truncated (longest of prompt and response first). An empty prompt is fine (an
    opening turn); an empty response is an error.
    """

    def __call__(self, inputs, **kwargs):
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], dict) and "turns" in inputs[0]:
            interviews = [{"turns": check_interview(x, f"interviews[{i}]")} for i, x in enumerate(inputs)]
            return super().__call__(interviews, **kwargs)
        return super().__call__({"turns": check_interview(inputs)}, **kwargs)

    def _sanitize_parameters(self, **kwargs):
        return {}, {}, {}

    def preprocess(self, interview: dict[str, Any]) -> dict[str, Any]:
        turns = interview["turns"]
        enc = self.tokenizer(
            [t["prompt"] for t in turns],
            [t["response"] for t in turns],
            truncation="longest_first",
            max_length=self.model.config.max_turn_length,
            padding="max_length",
            return_tensors="pt",
        )
        inputs = {key: value.unsqueeze(0) for key, value in enc.items()}  # (1, N, T)
        inputs["turn_mask"] = torch.ones(1, len(turns), dtype=torch.long)
        return {"turns": turns, **inputs}

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        turns = model_inputs.pop("turns")
        out = self.model(**model_inputs)
        return {"scores": out.scores, "attentions": out.attentions, "logits": out.logits, "turns": turns}

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        turns = model_outputs["turns"]
        attention = model_outputs["attentions"][0].float().tolist()
        score = float(model_outputs["scores"][0])
        result: dict[str, Any] = {"score": score}
        if self.model.config.num_labels == 2:
            index = int(model_outputs["logits"][0].argmax())
            result.update(label=self.model.config.id2label[index], probability=score)
        result["turns"] = [
            {"index": i, "prompt": t["prompt"], "response": t["response"], "attention": attention[i]}
            for i, t in enumerate(turns)
        ]
        return result
