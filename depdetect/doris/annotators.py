"""Symptom annotators and mood-course/explanation writers for DORIS, behind one small interface.

An annotator has `backend`, `model` (together they key the cache) and four methods:

- `fit(symptom_similarity)`: learn from the training posts' similarities to the symptom templates (N, 9);
- `annotate(texts, symptom_similarity) -> list[list[str] | None]`: symptom codes per post, None when the answer
  could not be read even after one retry (the pipeline counts those and treats them as "no symptom");
- `summarize(posts) -> str`: the mood course of time-ordered emotional posts ({text, timestamp, emotion});
- `explain(mood_course, symptom_posts, depressed, probability) -> str`: the written explanation.

Backends: `EmbeddingAnnotator` (offline default, no LLM: thresholds and templates), `TransformersAnnotator`
(a local chat model, GGUF too) and `OpenAIAnnotator` (any OpenAI-compatible server). `make_annotator(spec)`
builds one from "embedding", "transformers:PATH" or "openai:BASE_URL#MODEL".
"""

from __future__ import annotations

import logging
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..utils import public_name
from .arguments import LLMClientArguments
from .llm_client import ChatClient
from .templates import (
    PROMPT_VERSIONS,
    SYMPTOMS,
    annotate_prompt,
    explain_prompt,
    mood_course_prompt,
    parse_symptom_answer,
)

logger = logging.getLogger(__name__)

NO_EMOTIONAL_POSTS = "No emotionally charged posts were found in this period."
RETRY_REMINDER = "\nAnswer only with the letters in parentheses, for example (A, C), or with None."


def _text_or_none(answer: str | None) -> str | None:
    return answer.strip() if isinstance(answer, str) and answer.strip() else None


def _excerpt(text: str, words: int = 25) -> str:
    tokens = text.split(None, words)  # the first `words` words and the rest unsplit: cheap for long posts
    return " ".join(tokens[:words]) + (" ..." if len(tokens) > words else "")


class EmbeddingAnnotator:
    """The offline default: no LLM. It replaces the paper's GPT-3.5 annotations and summaries.

    A symptom is present in an annotated post when the post's cosine similarity to that symptom's template is
    at or above a per-symptom threshold, the `quantile` (default 0.95) of the training posts' similarities to that
    template (fitted in `fit`), and the symptom is among the post's `max_symptoms` (default 3) most similar
    templates. The second rule keeps a generally "emotional" post from lighting up all nine symptoms at once,
    since the nine templates are close to one another in embedding space. The mood course lists the emotional
    posts in time order with their dominant emotion; the explanation names the decision, the symptoms found with
    example posts, and the mood course.
    """

    backend = "embedding"
    uses_llm = False

    def __init__(self, quantile: float = 0.95, max_symptoms: int = 3, thresholds: list[float] | None = None,
                 symptoms=SYMPTOMS):
        if not 0 < quantile < 1:
            raise ValueError(f"`quantile` must be in (0, 1), got {quantile}.")
        if max_symptoms < 1:
            raise ValueError(f"`max_symptoms` must be >= 1, got {max_symptoms}.")
        self.quantile, self.max_symptoms = quantile, max_symptoms
        self.thresholds = None if thresholds is None else np.asarray(thresholds, dtype=np.float32)
        self.symptoms = symptoms
        self.model = f"similarity-q{quantile}-top{max_symptoms}"
        self.calls = 0
        self.unparseable = 0

    @property
    def spec(self) -> str:
        return "embedding"

    def state(self) -> dict:
        return {
            "quantile": self.quantile,
            "max_symptoms": self.max_symptoms,
            "thresholds": None if self.thresholds is None else self.thresholds.tolist(),
        }

    def fit(self, symptom_similarity: np.ndarray) -> None:
        self.thresholds = np.quantile(symptom_similarity, self.quantile, axis=0).astype(np.float32)

    def annotate(self, texts: list[str], symptom_similarity: np.ndarray) -> list[list[str] | None]:
        if self.thresholds is None:
            raise RuntimeError("The embedding annotator is not fitted: call DorisPipeline.fit first.")
        codes = [s["code"] for s in self.symptoms]
        present = symptom_similarity >= self.thresholds  # (N, 9)
        rank = (-symptom_similarity).argsort(axis=1).argsort(axis=1)  # (N, 9) 0 = the most similar template
        present &= rank < self.max_symptoms
        return [[codes[j] for j in np.flatnonzero(row)] for row in present]

    @property
    def public_spec(self) -> str:
        return "embedding"

    @property
    def evidence_note(self) -> str:
        """How this annotator chose the evidence posts, for the reader of an explanation."""
        return (f"Chosen by similarity, not by a clinical judgement: a post is cited for a symptom when its cosine "
                f"similarity to the symptom's description is at or above that symptom's {self.quantile:.0%} "
                f"quantile among training posts and is one of the post's {self.max_symptoms} closest symptoms. Each "
                "post shows its similarity (1 = the same meaning).")

    def summarize(self, posts: list[dict]) -> str:
        return offline_summary(posts)

    def explain(self, mood_course: str, symptom_posts: list[dict], depressed: bool, probability: float) -> str:
        return offline_explanation(mood_course, symptom_posts, depressed, probability)


def offline_summary(posts: list[dict]) -> str:
    """The mood course without an LLM: the emotional posts in time order with their dominant emotion."""
    if not posts:
        return NO_EMOTIONAL_POSTS
    dated = [p["timestamp"] for p in posts if p.get("timestamp")]
    span = f" ({dated[0][:10]} to {dated[-1][:10]})" if dated else ""
    lines = [f"{p['timestamp'][:10] if p.get('timestamp') else 'time unknown'} {p['emotion']}: "
             f"\"{_excerpt(p['text'])}\"" for p in posts]
    counts = Counter(p["emotion"] for p in posts)
    negative = [p["emotion"] != "happiness" for p in posts]
    half = len(posts) // 2
    trend = ""
    if half:
        first, second = sum(negative[:half]), sum(negative[half:])
        trend = (f" Negative emotions in the first half: {first} of {half}; in the second half: "
                 f"{second} of {len(posts) - half}.")
    top, top_count = counts.most_common(1)[0]
    return (
        f"Mood course from {len(posts)} emotionally charged posts{span}, each with its dominant emotion: "
        + "; ".join(lines)
        + f". Most frequent: {top} ({top_count} of {len(posts)}).{trend}"
    )


def offline_explanation(mood_course: str, symptom_posts: list[dict], depressed: bool, probability: float) -> str:
    """The written explanation without an LLM: the decision, the symptoms found with an example, the mood course."""
    decision = "depressed" if depressed else "not depressed"
    found = Counter(name for p in symptom_posts for name in p["symptoms"])
    if found:
        listing = ", ".join(f"{name} ({n} post{'s' if n > 1 else ''})" for name, n in found.most_common())
        symptoms = (f"Symptom annotation (embedding similarity to the DSM-5 templates, not an LLM) found "
                    f"{len(found)} of 9 DSM-5 symptoms in {len(symptom_posts)} posts: {listing}. "
                    f"For example: \"{_excerpt(symptom_posts[0]['text'], 30)}\".")
    else:
        symptoms = "Symptom annotation found none of the 9 DSM-5 symptoms in the posts it examined."
    return (
        f"The classifier judged this user {decision} (probability {probability:.2f}). {symptoms} {mood_course} "
        "This is a research screening signal, not a diagnosis."
    )


class LLMAnnotator:
    """Shared logic of the LLM backends: the paper's prompts, strict parsing with one retry, call counting."""

    uses_llm = True
    backend = "llm"

    @property
    def evidence_note(self) -> str:
        return (f"Chosen by the language model {self.public_spec!r} answering which symptoms a post shows, among the "
                "posts most similar to the symptom descriptions; its answer is not a clinical judgement. Each post "
                "shows its similarity to the symptom's description.")

    def __init__(self, model: str, annotate_max_tokens: int = 32, text_max_tokens: int = 384, symptoms=SYMPTOMS):
        self.model = model
        self.annotate_max_tokens = annotate_max_tokens
        self.text_max_tokens = text_max_tokens
        self.symptoms = symptoms
        self.calls = 0  # prompts sent, retries included
        self.unparseable = 0  # answers still unreadable after the retry

    def _chat(self, prompts: list[str], max_tokens: int) -> list[str]:
        raise NotImplementedError

    def chat(self, prompts: list[str], max_tokens: int) -> list[str]:
        self.calls += len(prompts)
        return self._chat(prompts, max_tokens)

    def state(self) -> dict:
        return {}

    def fit(self, symptom_similarity: np.ndarray) -> None:
        """LLMs need no fitting."""

    def annotate(self, texts: list[str], symptom_similarity: np.ndarray | None = None) -> list[list[str] | None]:
        codes = "".join(s["code"] for s in self.symptoms)
        prompts = [annotate_prompt(text, self.symptoms) for text in texts]
        answers = [parse_symptom_answer(a, codes) for a in self.chat(prompts, self.annotate_max_tokens)]
        retry = [i for i, a in enumerate(answers) if a is None]
        if retry:
            again = self.chat([prompts[i] + RETRY_REMINDER for i in retry], self.annotate_max_tokens)
            for i, answer in zip(retry, again):
                answers[i] = parse_symptom_answer(answer, codes)
                if answers[i] is None:
                    self.unparseable += 1
                    logger.warning("An annotator answer could not be read after one retry; counted as no symptom.")
        return answers

    def summarize(self, posts: list[dict]) -> str | None:
        """The mood course; None when the answer was unreadable or empty (not cached; the offline one stands in)."""
        if not posts:
            return NO_EMOTIONAL_POSTS
        return _text_or_none(self.chat([mood_course_prompt(posts)], self.text_max_tokens)[0])

    def explain(self, mood_course: str, symptom_posts: list[dict], depressed: bool, probability: float) -> str | None:
        prompt = explain_prompt(mood_course, symptom_posts, depressed)
        return _text_or_none(self.chat([prompt], self.text_max_tokens)[0])


class TransformersAnnotator(LLMAnnotator):
    """Any local chat model through transformers (a GGUF file via `gguf_file`); greedy, batched generation.

    The model loads on first use, not in the constructor.
    """

    backend = "transformers"

    def __init__(self, model_name_or_path: str, gguf_file: str | None = None, batch_size: int = 8,
                 device: str | None = None, **kwargs):
        path = Path(str(model_name_or_path))
        if gguf_file is None and path.suffix == ".gguf":
            path, gguf_file = path.parent, path.name
        super().__init__(model=str(model_name_or_path), **kwargs)
        self.path, self.gguf_file, self.batch_size, self.device = str(path), gguf_file, batch_size, device
        self._model = self._tokenizer = None

    @property
    def spec(self) -> str:
        return f"transformers:{self.model}"

    @property
    def public_spec(self) -> str:
        """A Hub id as given; a local model by its name only (what a saved config records)."""
        return f"transformers:{public_name(self.model)}"

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        extra = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        self._tokenizer = AutoTokenizer.from_pretrained(self.path, **extra)
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(self.path, **extra).eval()
        self._model.to(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def _render(self, prompt: str) -> str:
        if getattr(self._tokenizer, "chat_template", None):
            return self._tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
        return prompt

    def _chat(self, prompts: list[str], max_tokens: int) -> list[str]:
        import torch

        if self._model is None:
            self._load()
        answers = []
        for start in range(0, len(prompts), self.batch_size):
            batch = [self._render(p) for p in prompts[start : start + self.batch_size]]
            encoded = self._tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            input_ids = encoded["input_ids"].to(self._model.device)  # (B, T) left-padded
            attention_mask = encoded["attention_mask"].to(self._model.device)  # token_type_ids would upset decoders
            with torch.no_grad():
                output = self._model.generate(
                    input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_tokens, do_sample=False,
                    pad_token_id=self._tokenizer.pad_token_id,
                )
            new = output[:, input_ids.shape[1] :]
            answers.extend(self._tokenizer.batch_decode(new, skip_special_tokens=True))
        return answers


class OpenAIAnnotator(LLMAnnotator):
    """Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, OpenAI), reached through
    `depdetect.doris.llm_client.ChatClient` (deadlines, retries, proxies).

    Args:
        base_url: e.g. "http://localhost:8000/v1" (the `/chat/completions` path is appended). Proxies from the
            usual environment variables (HTTP(S)_PROXY, NO_PROXY) are honoured.
        model: the served model's name.
        api_key_env: the environment variable holding the key (read when a request is sent, only by an annotator
            its caller built; never stored or logged).
        timeout: seconds one request may take in all (connecting, sending, every byte of the answer): a server
            that drips bytes is cut at this deadline, not after each read.
        max_retries / backoff: transport faults, timeouts, truncated bodies, replies that are not a chat
            completion, 408/409/429 and 5xx answers are retried with exponential back-off (backoff * 2**attempt,
            jittered), or after the server's `Retry-After` (at most `max_retry_after` seconds); other HTTP errors
            fail at once. A reply still unreadable after the retries is returned as None: the pipeline counts it and
            does not cache it.
        concurrency: requests in flight at once.
    """

    backend = "openai"

    def __init__(self, base_url: str, model: str, api_key_env: str = LLMClientArguments.api_key_env,
                 timeout: float = LLMClientArguments.llm_timeout, max_retries: int = 4, backoff: float = 1.0,
                 concurrency: int = LLMClientArguments.llm_concurrency, temperature: float = 0.0,
                 max_retry_after: float = 60.0, **kwargs):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"`base_url` must start with http:// or https:// and name a host, got {base_url!r}.")
        if not timeout > 0 or max_retries < 0 or backoff < 0 or max_retry_after < 0:
            raise ValueError("`timeout` must be > 0 and `max_retries`, `backoff`, `max_retry_after` >= 0.")
        super().__init__(model=model, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.client = ChatClient(self.base_url, model, api_key_env, timeout, max_retries, backoff, temperature,
                                 max_retry_after)

    @property
    def spec(self) -> str:
        return f"openai:{self.base_url}#{self.model}"

    @property
    def public_spec(self) -> str:
        """The spec without credentials or query strings in the URL (what a saved config records)."""
        parts = urllib.parse.urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return f"openai:{urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, '', ''))}#{self.model}"

    def _chat(self, prompts: list[str], max_tokens: int) -> list[str | None]:
        if len(prompts) == 1:
            return [self.client.complete(prompts[0], max_tokens)]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(lambda p: self.client.complete(p, max_tokens), prompts))


def make_annotator(spec: str | None, state: dict | None = None, **kwargs):
    """'embedding' | 'transformers:PATH' (a .gguf file too) | 'openai:BASE_URL#MODEL' -> an annotator."""
    spec = spec or "embedding"
    state = state or {}
    if spec == "embedding":
        return EmbeddingAnnotator(quantile=state.get("quantile", 0.95), max_symptoms=state.get("max_symptoms", 3),
                                  thresholds=state.get("thresholds"), **kwargs)
    if spec.startswith("transformers:") and len(spec) > len("transformers:"):
        return TransformersAnnotator(spec.split(":", 1)[1], **kwargs)
    if spec.startswith("openai:"):
        rest = spec.split(":", 1)[1]
        base_url, _, model = rest.rpartition("#")
        if base_url and model:
            return OpenAIAnnotator(base_url, model, **kwargs)
    raise ValueError(
        f"Unknown annotator {spec!r}: use 'embedding', 'transformers:PATH' (a folder, Hub id or .gguf file) or "
        "'openai:BASE_URL#MODEL' (e.g. openai:http://localhost:8000/v1#meta-llama/Llama-3.1-8B-Instruct)."
    )


__all__ = [
    "EmbeddingAnnotator",
    "LLMAnnotator",
    "OpenAIAnnotator",
    "PROMPT_VERSIONS",
    "TransformersAnnotator",
    "make_annotator",
]
