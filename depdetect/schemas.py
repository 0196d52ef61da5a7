"""The record checks every system shares: a text, a list of texts, an interview's turns, a timestamp, a user.

Each returns the record as the systems read it or raises a `ValueError` that names the record and says what to fix.
The remote-code pipeline files (`pipeline_hybrid.py`, `pipeline_dual_encoder.py`) must load where depdetect is not
installed, so they carry copies of `check_text` / `check_texts` / `check_interview`, each marked
`# Copied from depdetect.schemas.<name>`; tests/test_copies.py keeps every copy equal to its original here.

Standard library only.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any


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


def check_texts(texts: Any, what: str = "inputs") -> list[str]:
    """Validate every text of a list at once, so a mixed list fails before any work is done."""
    texts = list(texts)
    if not texts:
        raise ValueError(f"{what} is an empty list; pass at least one non-empty string.")
    return [check_text(t, f"{what}[{i}]") for i, t in enumerate(texts)]


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


def parse_timestamp(value: object, where: str) -> datetime | None:
    """An ISO 8601 timestamp (or None). Naive times are read as UTC so that all posts sort on one clock."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: `timestamp` must be an ISO 8601 string or null, got {value!r}.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise ValueError(
            f"{where}: timestamp {value!r} is not ISO 8601 (e.g. '2020-01-30T01:01:11+08:00'); "
            "convert it, or set it to null when unknown."
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_user(user: object, where: str) -> dict:
    """Validate one user of the `users` schema and return it with posts as {text, timestamp} dicts.

    A post may be a dict with `text` and an optional `timestamp` (ISO 8601 or null; unknown times keep their
    given order) or a bare string. A user with no posts, a post with empty or non-string text, or an unreadable
    timestamp raises a ValueError naming the user and the post.
    """
    if not isinstance(user, dict):
        raise ValueError(f"{where}: a user must be a dict with `user_id` and `posts`, got {type(user).__name__}.")
    name = f"{where}: user {user.get('user_id', '?')!r}"
    posts = user.get("posts")
    if not isinstance(posts, (list, tuple)):
        raise ValueError(f"{name}: `posts` must be a list of {{'text', 'timestamp'}} dicts, got "
                         f"{type(posts).__name__}.")
    if not posts:
        raise ValueError(f"{name} has no posts; drop the user or give it at least one post.")
    clean = []
    for i, post in enumerate(posts):
        post = {"text": post} if isinstance(post, str) else post
        if not isinstance(post, dict):
            raise ValueError(f"{name}, post {i}: expected a dict with `text`, got {type(post).__name__}.")
        text = check_text(post.get("text"), f"{name}, post {i} `text`")
        timestamp = post.get("timestamp")
        parse_timestamp(timestamp, f"{name}, post {i}")
        clean.append({"text": text, "timestamp": timestamp.strip() if isinstance(timestamp, str) else None})
    return {"user_id": str(user.get("user_id", where)), "posts": clean, "label": user.get("label", -1)}
