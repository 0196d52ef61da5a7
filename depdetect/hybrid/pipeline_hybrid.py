"""The `depression-detection` pipeline of the Hybrid, saved with every Hybrid model so that
`pipeline(model=folder_or_repo, trust_remote_code=True)` works where depdetect is not installed.

One text in, `{"label", "probability", "score", "truncated", "tokens": [{"token", "awvti", "nas"}, ...]}` out.

This file travels to the Hub with saved models: it imports only torch and transformers.
"""

from __future__ import annotations

import re
import types
from typing import Any

import torch
from transformers import Pipeline

TASK = "depression-detection"


def custom_pipelines() -> dict:
    """The `custom_pipelines` entry of a saved Hybrid's config.json (written by its `save_pretrained`)."""
    module = __name__.rsplit(".", 1)[-1]
    return {TASK: {"impl": f"{module}.DepressionDetectionPipeline", "pt": ["AutoModelForSequenceClassification"],
                   "type": "text"}}


def calibrate_probabilities(probabilities: torch.Tensor, calibration: dict | None) -> torch.Tensor:
    """Class probabilities (..., C) under the calibration saved in the config (none: unchanged)."""
    if not calibration:
        return probabilities
    method = calibration.get("method")
    if method == "temperature":
        return (probabilities.double().clamp_min(1e-12).log() / float(calibration["temperature"])).softmax(-1)
    if method == "platt" and probabilities.shape[-1] == 2:
        p = probabilities[..., 1].double().clamp(1e-12, 1 - 1e-12)
        p = torch.sigmoid(float(calibration["a"]) * torch.logit(p) + float(calibration["b"]))
        return torch.stack([1 - p, p], dim=-1)
    raise ValueError(f"Unknown calibration {calibration!r} in the model's config.")


def decide(probabilities: torch.Tensor, threshold: float | None) -> int:
    """The predicted class: P(last class) >= threshold for two classes with a saved threshold, else the argmax."""
    if threshold is not None and probabilities.shape[-1] == 2:
        return int(float(probabilities[1]) >= float(threshold))
    return int(probabilities.argmax())


#: a word as a reader sees it: letters and digits joined by apostrophes or hyphens ("can't", "well-being"), or one
#: other visible character (punctuation stays apart, so it cannot lend its attention to a word)
WORD = re.compile(r"\w+(?:['\u2019\-]\w+)*|[^\w\s]")


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


def check_tokenizer(tokenizer: Any, vocab_size: int | None, where: str) -> None:
    """Refuse a tokenizer that cannot be the model's: one knowing far fewer words than the model's embeddings
    (its vocabulary file is missing or damaged, so every word would become [UNK]), or more (ids out of range)."""
    size = len(tokenizer) if tokenizer is not None else None
    if isinstance(vocab_size, int) and size is not None and not vocab_size // 2 <= size <= vocab_size:
        raise ValueError(f"The tokenizer of {where} knows {size} tokens but the model's embeddings hold {vocab_size}: "
                         "its vocabulary file (tokenizer.json, vocab.txt, ...) is missing, damaged or another "
                         "model's. Copy the folder again from where it came (or train it again).")


#: the explanation methods of the Hybrid: the paper's two (computed together from one pass with attention weights)
#: and two that read the model's output, not its attention
METHODS = ("awvti", "nas", "integrated_gradients", "occlusion")
#: what `explain=True` gives: the paper's explanations
DEFAULT_METHODS = ("awvti", "nas")


def explanation_methods(explain: Any) -> tuple[str, ...]:
    """The methods an `explain` argument asks for: True (the paper's NAS and AWVTI), False (none), a method name,
    several joined by commas ("nas,occlusion") or a list of names."""
    if isinstance(explain, bool):
        return DEFAULT_METHODS if explain else ()
    names = explain.split(",") if isinstance(explain, str) else explain
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"`explain` must be True, False, a method name or a list of them, got {explain!r}.")
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ValueError(f"Unknown explanation method(s) {unknown or names!r}; choose from {', '.join(METHODS)} (or "
                         "explain=True for the paper's NAS and AWVTI, False for none).")
    chosen = set(names) | (set(DEFAULT_METHODS) if set(names) & set(DEFAULT_METHODS) else set())
    return tuple(m for m in METHODS if m in chosen)


def token_words(text: str, offsets: list, word_ids: list) -> tuple[list[int], list[tuple[int, int]]]:
    """Per token, the index of the word (`WORD`: word pieces, and the parts of "can't" or "well-being" that the
    tokenizer splits, merged) it belongs to (-1: a special token), and each word's (start, end) in the text, in
    text order."""
    spans = [m.span() for m in WORD.finditer(text)]
    keys: list[int | None] = []
    bounds: dict[int, tuple[int, int]] = {}
    cursor = 0
    for word_id, (start, end) in zip(word_ids, offsets):
        if word_id < 0 or end <= start:  # a special token
            keys.append(None)
            continue
        while cursor < len(spans) - 1 and spans[cursor][1] <= start:
            cursor += 1
        key = cursor if spans and spans[cursor][0] <= start < spans[cursor][1] else -1 - start
        low, high = bounds.get(key, (start, end))
        bounds[key] = (min(low, start), max(high, end))
        keys.append(key)
    order = sorted(bounds, key=lambda k: bounds[k][0])
    index = {k: i for i, k in enumerate(order)}
    return [-1 if k is None else index[k] for k in keys], [bounds[k] for k in order]


@torch.no_grad()
def kept_words_probabilities(model: Any, input_ids: torch.Tensor, words: list[int], kept_lists: list[list[int]],
                             target: int, pad_token_id: int | None, batch_size: int = 32) -> list[float]:
    """P(target) of one text (`input_ids`, (T,), special tokens included) with only the words of each kept list
    present: the other words' tokens are deleted, not replaced (a [MASK] or [PAD] in their place is still input
    the encoder reads); special tokens always stay. `words` is `token_words`' index per token."""
    pad = 0 if pad_token_id is None else int(pad_token_id)
    ids = input_ids.tolist()
    out: list[float] = []
    for start in range(0, len(kept_lists), batch_size):
        rows = []
        for kept in kept_lists[start : start + batch_size]:
            keep = set(kept)
            rows.append([t for t, w in zip(ids, words) if w < 0 or w in keep])
        width = max(len(r) for r in rows)
        batch = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=input_ids.device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=input_ids.device)
        logits = model(input_ids=batch, attention_mask=mask).logits.float()
        out += logits.softmax(-1)[:, target].tolist()
    return out


# Copied from depdetect.schemas.check_text
def check_text(text: object, where: str = "text") -> str:
    """Return `text` if it is a non-empty string, else raise a `ValueError` that says what to fix."""
    if text is None or (isinstance(text, float) and text != text):  # None, or pandas' NaN for a missing value
        raise ValueError(f"{where} is {'None' if text is None else 'missing (NaN)'}; expected a non-empty string. "
                         "Drop or fill missing texts first.")
    if not isinstance(text, str):
        raise ValueError(f"{where} must be a string, got {type(text).__name__} ({text!r:.40}).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{where} holds a lone surrogate (U+{ord(text[err.start]):04X} at character {err.start}), "
                         "which is not valid Unicode text; re-read the file with its real encoding.") from None
    if not any(c.isprintable() and not c.isspace() for c in text):
        raise ValueError(f"{where} is empty or holds only whitespace, control or zero-width characters; expected "
                         "a non-empty string.")
    return text


# Copied from depdetect.schemas.check_texts
def check_texts(texts: Any, what: str = "inputs") -> list[str]:
    """Validate every text of a list at once, so a mixed list fails before any work is done."""
    texts = list(texts)
    if not texts:
        raise ValueError(f"{what} is an empty list; pass at least one non-empty string.")
    return [check_text(t, f"{what}[{i}]") for i, t in enumerate(texts)]


class _CheckedDataset(torch.utils.data.Dataset):
    """A dataset of texts (e.g. transformers' KeyDataset) whose items are checked as they are read."""

    def __init__(self, dataset, check):
        self.dataset, self.check = dataset, check

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.check(self.dataset[i], f"inputs[{i}]")


def checked_inputs(inputs: Any, check, check_all):
    """Lists and tuples are checked whole before any work; datasets and generators item by item as they stream.
    Other sized collections of texts (a datasets 5 `Column`, a pandas Series, a numpy array) are read as lists."""
    if isinstance(inputs, (list, tuple)):
        return check_all(inputs)
    if (not isinstance(inputs, (str, bytes, dict, torch.utils.data.Dataset, types.GeneratorType))
            and hasattr(inputs, "__len__") and hasattr(inputs, "__iter__")):
        return check_all(list(inputs))
    if isinstance(inputs, torch.utils.data.Dataset):
        return _CheckedDataset(inputs, check)
    if isinstance(inputs, types.GeneratorType):
        return (check(x, f"inputs[{i}]") for i, x in enumerate(inputs))
    return None


#: transformers' `function_to_apply` values (text-classification)
FUNCTIONS = ("softmax", "sigmoid", "none")


class DepressionDetectionPipeline(Pipeline):
    """Classify texts as depression / control and explain each prediction word by word.

    Call it with a string, a list of strings, a generator of strings or a dataset of them (e.g. `KeyDataset(ds,
    "text")`; those stream results back). Each result is `{"label", "probability", "score", "truncated", "tokens"}`:
    `label` is `control` or `depression`, `probability` is P(depression), `score` the probability of the given
    label (transformers' convention). `tokens` are the words of the text in order (word pieces merged, special
    tokens and padding left out), `awvti` the attention each word receives from [CLS] summed over layers and heads
    (eq. 10 of the paper, summed over the word's pieces), `nas` the same averaged and normalised so the words of a
    text sum to 1 (eq. 11). Texts longer than the model's `max_length` tokens are truncated (`truncated` is then
    `True`, and only the kept words are explained).

    `probability` is calibrated when the model was saved with a calibration (temperature scaling fitted on
    validation by depdetect), and `label` is decided at the threshold saved with it (`config.decision_threshold`,
    chosen on validation by the rule in `config.threshold_rule`; models without one use the argmax).

    `explain` chooses the explanation: True (the default: the paper's `nas` and `awvti`), False (none: fast
    attention, no `tokens`), or a method name, names joined by commas or a list of them, each adding its field to
    every word: `integrated_gradients` (Integrated Gradients of the label's probability over the input embeddings,
    20 steps from a [PAD] baseline, summed over the word's pieces: positive raises the label's probability) and
    `occlusion` (the label's probability minus its probability with the word deleted). Both explain the label
    the pipeline gives; they cost about 20 and (words + 1) forward passes per text, the paper's one.

    Other keyword arguments: `max_length`
    overrides the truncation length, `calibrated=False` reports the uncalibrated softmax in `probability` and
    `score` (the label is still decided on the calibrated probability, where the threshold was chosen), and
    `return_uncalibrated=True` adds `uncalibrated_probability`.

    transformers' text-classification arguments, with their meanings: `top_k` (an int, or None for every label)
    returns transformers' shape, a list of `{"label", "score"}` per text, without explanations; the label the saved
    threshold decides comes first, so `top_k=1` gives the default call's label (with a threshold other than 0.5
    that label can have the lower score). `function_to_apply` ("softmax", the default; "sigmoid"; "none") sets how
    `score` (and the scores of `top_k`) come from the logits: softmax gives the probabilities (calibrated unless
    `calibrated=False`), sigmoid and none the raw logits through a sigmoid or as they are; `label` and
    `probability` are always decided and reported on the calibrated probability. `truncation=False` refuses a
    text longer than the model reads (a ValueError naming its length) instead of truncating it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        encoder = self.model.config.encoder_config
        check_tokenizer(self.tokenizer, getattr(encoder, "vocab_size", None),
                        getattr(self.model.config, "_name_or_path", None) or "this model")

    def __call__(self, inputs, **kwargs):
        checked = checked_inputs(inputs, check_text, check_texts)
        if checked is None:
            checked = check_text(inputs, "the input")
        return super().__call__(checked, **kwargs)

    def _sanitize_parameters(self, explain: Any = None, max_length: int | None = None,
                             calibrated: bool | None = None, return_uncalibrated: bool | None = None,
                             top_k: Any = "", function_to_apply: str | None = None, truncation: Any = None,
                             **kwargs):
        if kwargs:
            raise TypeError(f"Unknown argument(s) {sorted(kwargs)}; the depression-detection pipeline takes "
                            "`explain`, `max_length`, `calibrated`, `return_uncalibrated`, and transformers' "
                            "`top_k`, `function_to_apply`, `truncation`, `batch_size`, `num_workers`.")
        preprocess, forward, postprocess = {}, {}, {}
        if top_k != "":  # transformers' sentinel: not given
            if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
                raise ValueError(f"`top_k` must be a positive integer or None (every label), got {top_k!r}.")
            if explain not in (None, False):
                raise ValueError("`top_k` returns transformers' list of labels and scores, without explanations; "
                                 "leave `top_k` out to get the explained result.")
            postprocess["top_k"] = top_k
            explain = False
        if function_to_apply is not None:
            if str(function_to_apply).lower() not in FUNCTIONS:
                raise ValueError(f"`function_to_apply` must be one of {', '.join(FUNCTIONS)}, got "
                                 f"{function_to_apply!r}.")
            postprocess["function_to_apply"] = str(function_to_apply).lower()
        if truncation is not None:
            preprocess["truncation"] = truncation not in (False, "do_not_truncate")
        if calibrated is not None:
            postprocess["calibrated"] = bool(calibrated)
        if return_uncalibrated is not None:
            postprocess["return_uncalibrated"] = bool(return_uncalibrated)
        if max_length is not None:
            positions = getattr(self.model.config.encoder_config, "max_position_embeddings", None)
            if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0 or (
                    isinstance(positions, int) and max_length > positions):
                raise ValueError(f"`max_length` must be an integer in [1, {positions}] (the encoder's positions), got "
                                 f"{max_length!r}.")
            preprocess["max_length"] = int(max_length)
        if explain is not None:
            forward["explain"] = postprocess["explain"] = explanation_methods(explain)
        return preprocess, forward, postprocess

    def preprocess(self, text: str, max_length: int | None = None, truncation: bool = True) -> dict[str, Any]:
        max_length = max_length or getattr(self.model.config, "max_length", None) or self.tokenizer.model_max_length
        read = cut_text(text, max_length)  # a huge text is cut first (it still reads the same first tokens)
        if not truncation:
            length = len(self.tokenizer(read)["input_ids"])
            if length > max_length or len(read) < len(text):
                raise ValueError(f"A text is {'more than ' if len(read) < len(text) else ''}{length} tokens long "
                                 f"and the model reads {max_length} (`max_length`); with truncation=False it is "
                                 "refused. Pass truncation=True (the default: the first tokens are read, "
                                 "`truncated` says so) or split the text.")
        enc = self.tokenizer(
            read,
            truncation=True,
            max_length=max_length,
            return_special_tokens_mask=True,
            return_offsets_mapping=True,
            return_overflowing_tokens=False,
            return_tensors="pt",
        )
        word_ids = [-1 if w is None else w for w in enc.word_ids(0)]
        encoding = enc.encodings[0] if enc.encodings else None
        truncated = bool(encoding is not None and encoding.overflowing) or len(read) < len(text)
        enc["word_ids"] = torch.tensor([word_ids])
        return {"text": read, "truncated": truncated, **enc}

    def _forward(self, model_inputs: dict[str, Any], explain: tuple[str, ...] = DEFAULT_METHODS) -> dict[str, Any]:
        meta = {k: model_inputs.pop(k) for k in ("text", "truncated", "offset_mapping", "word_ids")}
        special = model_inputs.pop("special_tokens_mask")
        result: dict[str, Any] = {}
        if set(explain) & set(DEFAULT_METHODS):
            out = self.model.explain(special_tokens_mask=special, **model_inputs)
            result.update(logits=out.logits, awvti=out.awvti, nas=out.nas)
        else:
            result["logits"] = self.model(**model_inputs).logits
        if {"integrated_gradients", "occlusion"} & set(explain):
            targets = [self._label_index(row) for row in result["logits"]]
            if "integrated_gradients" in explain:
                result["integrated_gradients"] = self.model.integrated_gradients(
                    special_tokens_mask=special, target=torch.tensor(targets), **model_inputs)
            if "occlusion" in explain:
                texts = meta["text"] if isinstance(meta["text"], list) else [meta["text"]]
                occlusion = torch.zeros(model_inputs["input_ids"].shape, device=model_inputs["input_ids"].device)
                for b, (text, target) in enumerate(zip(texts, targets)):
                    real = model_inputs["attention_mask"][b].bool()
                    occlusion[b, real] = self._occlusion(
                        model_inputs["input_ids"][b][real], text, meta["offset_mapping"][b][real.cpu()].tolist(),
                        meta["word_ids"][b][real.cpu()].tolist(), target).to(occlusion.device)
                result["occlusion"] = occlusion
        return {**result, **meta, "attention_mask": model_inputs["attention_mask"]}

    def _label_index(self, logits: torch.Tensor) -> int:
        """The class the pipeline reports for these logits (calibrated, at the saved threshold)."""
        config = self.model.config
        probabilities = calibrate_probabilities(logits.float().softmax(-1), getattr(config, "calibration", None))
        return decide(probabilities, getattr(config, "decision_threshold", None))

    def _occlusion(self, input_ids: torch.Tensor, text: str, offsets: list, word_ids: list, target: int
                   ) -> torch.Tensor:
        """Per token of one unpadded text (T,): P(target) minus P(target) with the token's word deleted, shared
        evenly among the word's pieces (so the word's sum is its drop)."""
        words, spans = token_words(text, offsets, word_ids)
        count = len(spans)
        every = list(range(count))
        scores = kept_words_probabilities(self.model, input_ids, words, [every] + [every[:w] + every[w + 1:]
                                                                                  for w in every],
                                          target, self.model.config.encoder_config.pad_token_id)
        pieces = [0] * count
        for w in words:
            if w >= 0:
                pieces[w] += 1
        return torch.tensor([0.0 if w < 0 else (scores[0] - scores[1 + w]) / pieces[w] for w in words])

    def postprocess(self, model_outputs: dict[str, Any], calibrated: bool = True, return_uncalibrated: bool = False,
                    explain: tuple[str, ...] = DEFAULT_METHODS, top_k: Any = "",
                    function_to_apply: str = "softmax") -> Any:
        config = self.model.config
        logits = model_outputs["logits"][0].float()
        raw = logits.softmax(-1)
        calibrated_probabilities = calibrate_probabilities(raw, getattr(config, "calibration", None))
        index = decide(calibrated_probabilities, getattr(config, "decision_threshold", None))
        probabilities = calibrated_probabilities if calibrated else raw
        scores = {"softmax": probabilities, "sigmoid": logits.sigmoid(), "none": logits}[function_to_apply]
        if top_k != "":  # transformers' shape: the decided label first, then the others by score
            order = [index] + sorted((i for i in range(len(scores)) if i != index), key=lambda i: -float(scores[i]))
            return [{"label": config.id2label[i], "score": float(scores[i])} for i in order[:top_k]]
        result = {
            "label": config.id2label[index],
            "probability": float(probabilities[-1]),  # P(depression): the positive class is the last label
            "score": float(scores[index]),
            "truncated": bool(model_outputs["truncated"]),
        }
        if return_uncalibrated:
            result["uncalibrated_probability"] = float(raw[-1])
        if explain:
            result["tokens"] = self._words(model_outputs, explain)
        return result

    @staticmethod
    def _words(outputs: dict[str, Any], explain: tuple[str, ...]) -> list[dict[str, Any]]:
        """Merge tokens into the words a reader sees (`token_words`): each word's text and, per method asked for,
        the sum of its tokens' scores, in text order."""
        text = outputs["text"]
        real = outputs["attention_mask"][0].bool()
        words, spans = token_words(text, outputs["offset_mapping"][0][real].tolist(),
                                   outputs["word_ids"][0][real].tolist())
        methods = [m for m in METHODS if m in explain]
        sums = {m: [0.0] * len(spans) for m in methods}
        for m in methods:
            for w, value in zip(words, outputs[m][0][real].tolist()):
                if w >= 0:
                    sums[m][w] += value
        return [{"token": text[start:end], **{m: float(sums[m][i]) for m in methods}}
                for i, (start, end) in enumerate(spans)]

__all__ = [
    "DEFAULT_METHODS", "DepressionDetectionPipeline", "FUNCTIONS", "METHODS", "TASK", "WORD",
    "calibrate_probabilities", "check_text", "check_texts", "check_tokenizer", "custom_pipelines", "cut_text",
    "decide", "explanation_methods", "kept_words_probabilities", "token_words"
]
