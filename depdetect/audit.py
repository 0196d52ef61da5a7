"""The shortcut audit (`depdetect evaluate --audit`): how much of a model's score rests on what a shortcut reads.

* texts and posts: the metrics again with the words that name the label or the forum deleted (`DEFAULT_LABEL_WORDS`:
  depress*, suicid*, r/... and the subreddit names of the bundled RMHD corpus; `--audit_words FILE` for your own),
  and the change with a paired bootstrap interval;
* interviews: the metrics on the responses only (prompts blanked) and on the prompts only (each response reduced to
  "."): a model that scores well on the prompts alone reads the interviewer, not the participant (Burdisso et al.
  2024);
* users: a baseline on the history's shape alone (number of posts, mean words per post, posts per day), cross-fitted
  on the evaluated users, so a reader sees what the shape predicts without reading a word.

Each system's predictor provides `audit(predictor, records, outputs, words, rescore, resamples, seed)` built from
the helpers here; `run_audit` calls it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from .data import RMHD_CONTROL_SUBREDDITS, RMHD_MENTAL_HEALTH_SUBREDDITS, RMHD_POSITIVE_SUBREDDITS
from .metrics import binary_metrics, bootstrap_intervals
from .utils import read_text

#: the words deleted by default: the label's own words, forum links and the bundled corpus' subreddit names. A
#: trailing * matches any ending ("depress*": depressed, depression, depressing); matching ignores case and takes
#: whole words only.
DEFAULT_LABEL_WORDS = ("depress*", "suicid*", "r/*", *RMHD_POSITIVE_SUBREDDITS, *RMHD_CONTROL_SUBREDDITS,
                       *RMHD_MENTAL_HEALTH_SUBREDDITS)
#: what stands in for a text that held nothing but label words (a model cannot read an empty text)
EMPTY_STAND_IN = "."


def read_audit_words(path: str | Path | None) -> tuple[str, ...]:
    """The words of an --audit_words file (one per line, `*` at the end for any ending, `#` comments), or the
    defaults."""
    if path is None:
        return DEFAULT_LABEL_WORDS
    words = tuple(line.strip() for line in read_text(path).splitlines() if line.strip() and
                  not line.strip().startswith("#"))
    if not words:
        raise ValueError(f"--audit_words {path} holds no words (one per line; '*' at the end for any ending).")
    bad = [w for w in words if w.strip("*") == "" or "*" in w[:-1]]
    if bad:
        raise ValueError(f"--audit_words {path}: {bad[0]!r} is not a word; write a word, optionally ending in '*'.")
    return words


def label_word_pattern(words: Sequence[str]) -> re.Pattern:
    """One case-insensitive pattern matching any of `words` as a whole word (`*`: any word characters follow)."""
    parts = []
    for word in words:
        stem = word[:-1] if word.endswith("*") else word
        tail = r"[\w'\u2019-]*" if word.endswith("*") else r"(?![\w])"
        parts.append(re.escape(stem) + tail)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")", re.IGNORECASE)


def delete_words(text: str, pattern: re.Pattern) -> tuple[str, int]:
    """`text` with every match deleted (spaces tidied) and the number deleted; a text left empty becomes "."."""
    cut, count = pattern.subn("", text)
    if not count:
        return text, 0
    cut = re.sub(r"[ \t]{2,}", " ", cut).strip()
    return (cut if any(c.isalnum() for c in cut) else EMPTY_STAND_IN), count


def mask_label_words(texts: Sequence[str], pattern: re.Pattern, probability: float, mask: str, seed: int
                     ) -> tuple[list[str], int]:
    """`texts` with each match of `pattern` replaced by `mask` with `probability` (one seeded draw per match, so the
    same call masks the same words), and the number masked. Training-time counterpart of `delete_words`."""
    rng = np.random.default_rng(seed)
    masked = 0

    def replace(match: re.Match) -> str:
        nonlocal masked
        if rng.random() < probability:
            masked += 1
            return mask
        return match.group(0)

    return [pattern.sub(replace, text) for text in texts], masked


def paired_change(y, before, after, resamples: int, seed: int, threshold: float = 0.5) -> dict:
    """AUPRC, AUROC and F1 of P(depression) before and after a change to the inputs, and after - before with a
    paired bootstrap interval (the same units resampled for both)."""
    y = np.asarray(y).astype(int)
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    names = ("auprc", "auroc", "f1")

    def score(index):
        a, b = binary_metrics(before[index], y[index], threshold), binary_metrics(after[index], y[index], threshold)
        return {**{f"{n}|before": a[n] for n in names}, **{f"{n}|after": b[n] for n in names},
                **{f"{n}|change": b[n] - a[n] for n in names}}

    values = score(np.arange(len(y)))
    intervals = bootstrap_intervals(score, len(y), resamples, seed) if resamples else {}
    return {n: {"before": values[f"{n}|before"], "after": values[f"{n}|after"],
                "change": {"value": values[f"{n}|change"],
                           "interval": intervals.get(f"{n}|change", [math.nan, math.nan])}} for n in names}


def label_word_audit(texts: Sequence[Sequence[str]], words: Sequence[str],
                     rescore: Callable[[list[list[str]]], list[float]], y, before, resamples: int, seed: int,
                     threshold: float = 0.5) -> dict:
    """The label-word part of the audit for units made of texts (a post: one text; a user: their posts).

    `rescore(masked_texts)` scores the units again with the masked texts (P(depression) per unit); `before` is
    P(depression) on the original texts. Returns how many units and texts held a label word, how many words were
    deleted, and `paired_change` of the metrics."""
    pattern = label_word_pattern(words)
    masked, deleted, units_hit, texts_hit = [], 0, 0, 0
    for unit in texts:
        cut = [delete_words(t, pattern) for t in unit]
        masked.append([t for t, _ in cut])
        counts = [n for _, n in cut]
        deleted += sum(counts)
        texts_hit += sum(1 for n in counts if n)
        units_hit += bool(sum(counts))
    out = {"words": list(words), "removal": "deleted (a text left empty becomes '.')",
           "units_with_label_words": units_hit, "texts_with_label_words": texts_hit, "words_deleted": deleted}
    after = rescore(masked) if deleted else list(before)
    return {**out, "metrics": paired_change(y, before, after, resamples, seed, threshold)}


def _days(posts: Sequence[dict]) -> float | None:
    moments = []
    for post in posts:
        try:
            moments.append(datetime.fromisoformat(str(post.get("timestamp"))[:19]))
        except (TypeError, ValueError):
            return None
    return (max(moments) - min(moments)).total_seconds() / 86400 if moments else None


def history_shape_features(users: Sequence[dict]) -> np.ndarray:
    """Per user: log(number of posts), mean words per post, posts per day (over the dated span, at least a day;
    0 when some post is undated). (U, 3)."""
    rows = []
    for user in users:
        posts = user["posts"]
        days = _days(posts)
        rate = len(posts) / max(days, 1.0) if days is not None else 0.0
        rows.append([math.log(len(posts)), float(np.mean([len(p["text"].split()) for p in posts])), rate])
    return np.asarray(rows, dtype=np.float64)


def history_shape_baseline(users: Sequence[dict], y, resamples: int, seed: int, folds: int = 5) -> dict:
    """Out-of-fold P(depression) from the history's shape alone (logistic regression on standardised
    `history_shape_features`, stratified folds) and its AUROC and AUPRC with bootstrap intervals."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y).astype(int)
    folds = min(folds, int(np.bincount(y, minlength=2).min()))
    if folds < 2:
        return {"note": "needs at least 2 users of each class"}
    X = history_shape_features(users)
    scores = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", random_state=seed))
        scores[test] = model.fit(X[train], y[train]).predict_proba(X[test])[:, 1]

    def score(index):
        m = binary_metrics(scores[index], y[index])
        return {"auroc": m["auroc"], "auprc": m["auprc"]}

    values = score(np.arange(len(y)))
    intervals = bootstrap_intervals(score, len(y), resamples, seed) if resamples else {}
    return {"features": ["log number of posts", "mean words per post", "posts per day"],
            "model": f"logistic regression, {folds} stratified folds (cross-fitted on the evaluated users)",
            "positive_rate": float(y.mean()),
            **{n: {"value": values[n], "interval": intervals.get(n, [math.nan, math.nan])} for n in values}}


def audit_lines(audit: dict) -> list[str]:
    """The audit as a few console lines."""
    lines = ["Shortcut audit"]
    words = audit.get("label_words")
    if words:
        m = words["metrics"]["auprc"]
        low, high = m["change"]["interval"]
        lines.append(f"  label words deleted ({words['words_deleted']} in {words['units_with_label_words']} units): "
                     f"AUPRC {m['before']:.3f} -> {m['after']:.3f} (change {m['change']['value']:+.3f} "
                     f"[{low:+.3f}, {high:+.3f}])")
    for name in ("responses_only", "prompts_only"):
        if name in audit:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in audit[name].items() if k in ("rmse", "mae", "auprc", "auroc")
                              and isinstance(v, float))
            lines.append(f"  {name.replace('_', ' ')}: {shown}")
    shape = audit.get("history_shape")
    if shape and "auroc" in shape:
        lines.append(f"  history shape alone (posts, length, rate): AUROC {shape['auroc']['value']:.3f}, AUPRC "
                     f"{shape['auprc']['value']:.3f} (positive rate {shape['positive_rate']:.3f})")
    return lines
