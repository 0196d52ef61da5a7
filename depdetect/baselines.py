"""Simple baselines fitted and scored on the same split as a system, so every result says what the system adds.

Two baselines, the same for the three systems; each sees one *document* per unit, a list of texts: a post (the
Hybrid), an interview's participant responses (the dual encoder), a user's posts (DORIS).

* `tfidf_logreg`: TF-IDF of the document's texts joined (word uni- and bigrams, sublinear tf) + logistic
  regression (class_weight="balanced", C=1).
* `embedding_logreg`: the mean of the texts' MiniLM sentence embeddings (all-MiniLM-L6-v2, bundled, offline) +
  logistic regression (same settings).

Severity regression uses ridge regression (alpha=1) in place of logistic regression, and the baselines are then
named `tfidf_ridge` and `embedding_ridge` (before depdetect 0.9 they kept the `_logreg` names). Nothing is tuned:
these are the baselines anyone would try first. `gain_over_baselines` reports the system's gain over the better of
the two (chosen by its test score, the conservative choice: the gain is never measured against the weaker baseline)
with a paired bootstrap interval.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np

from .metrics import binary_metrics, bootstrap_intervals, regression_metrics

logger = logging.getLogger(__name__)

BASELINES = ("tfidf_logreg", "embedding_logreg")
BASELINE_DESCRIPTIONS = {
    "tfidf_logreg": "TF-IDF (word 1-2-grams) + logistic regression",
    "embedding_logreg": "mean all-MiniLM-L6-v2 embedding + logistic regression",
    "tfidf_ridge": "TF-IDF (word 1-2-grams) + ridge regression",
    "embedding_ridge": "mean all-MiniLM-L6-v2 embedding + ridge regression",
}


def baseline_name(features: str, task: str) -> str:
    """The name of a baseline by its features ("tfidf", "embedding") and the model the task fits."""
    return f"{features}_{'ridge' if task == 'regression' else 'logreg'}"
#: the metric the gain is measured on: threshold-free, and the one to read first when positives are rare
GAIN_METRIC = {"classification": "auprc", "regression": "rmse"}


class CachedEmbedder:
    """Sentence embeddings of texts, each text embedded once (folds and splits reuse them). `encode` defaults to
    the bundled MiniLM (mean pooling, transformers alone: `MeanPoolingEmbedder`); DORIS passes its own (cached)
    embedder."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray] | None = None):
        self._encode = encode
        self._cache: dict[str, np.ndarray] = {}

    def _default_encode(self, texts: list[str]) -> np.ndarray:
        from .embedder import MeanPoolingEmbedder

        self._encode = MeanPoolingEmbedder().encode
        return self._encode(texts)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = (self._encode or self._default_encode)(missing)
            self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        return np.stack([self._cache[t] for t in texts])

    def documents(self, documents: Sequence[Sequence[str]]) -> np.ndarray:
        """The mean embedding of each document's texts (L2-normalised)."""
        flat = [t for doc in documents for t in doc]
        vectors = self(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        out, start = [], 0
        for doc in documents:
            mean = vectors[start : start + len(doc)].mean(axis=0)
            out.append(mean / (np.linalg.norm(mean) or 1.0))
            start += len(doc)
        return np.stack(out)


def _model(task: str, seed: int):
    if task == "regression":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)


def _predict(model, features, task: str) -> np.ndarray:
    return model.predict(features) if task == "regression" else model.predict_proba(features)[:, 1]


def _check(documents: Sequence[Sequence[str]], what: str) -> list[list[str]]:
    docs = [[t for t in doc if isinstance(t, str) and t.strip()] for doc in documents]
    if not docs:
        raise ValueError(f"The baselines need {what} documents; got none.")
    return [doc or [""] for doc in docs]


def fit_baselines(train_docs: Sequence[Sequence[str]], train_targets, test_docs: Sequence[Sequence[str]],
                  task: str = "classification", which: str = "all", embedder: CachedEmbedder | None = None,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Fit the baselines on the training documents and return their test scores: P(positive) per test document
    (classification) or the predicted score (regression).

    Args:
        train_docs, test_docs: one list of texts per unit.
        train_targets: 0/1 labels (classification) or scores (regression).
        which: "all", "tfidf" (TF-IDF only: no embedding model) or "none".
        embedder: sentence embeddings (default: the bundled MiniLM, loaded on first use).
    """
    if which == "none":
        return {}
    if which not in ("all", "tfidf"):
        raise ValueError(f"--baselines must be all, tfidf or none, got {which!r}.")
    from sklearn.feature_extraction.text import TfidfVectorizer

    train_docs, test_docs = _check(train_docs, "training"), _check(test_docs, "test")
    y = np.asarray(train_targets, dtype=np.float64 if task == "regression" else np.int64)
    if task == "classification" and len(set(y.tolist())) < 2:
        raise ValueError("The baselines need both classes in the training data.")
    out = {}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2 if len(train_docs) >= 50 else 1,
                                 max_features=100_000)
    train_x = vectorizer.fit_transform([" ".join(doc) for doc in train_docs])
    model = _model(task, seed).fit(train_x, y)
    test_x = vectorizer.transform([" ".join(doc) for doc in test_docs])
    out[baseline_name("tfidf", task)] = _predict(model, test_x, task)
    if which == "all":
        embedder = embedder or CachedEmbedder()
        model = _model(task, seed).fit(embedder.documents(train_docs), y)
        out[baseline_name("embedding", task)] = _predict(model, embedder.documents(test_docs), task)
    return out


def cross_fitted_baselines(docs: Sequence[Sequence[str]], targets, task: str = "classification", which: str = "all",
                           folds: int = 5, seed: int = 0, embedder: CachedEmbedder | None = None
                           ) -> dict[str, np.ndarray]:
    """Out-of-fold baseline scores on one labelled set (`depdetect evaluate`, which has no training split): each
    document is scored by baselines fitted on the other folds (stratified for classification)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    targets = np.asarray(targets)
    if which == "none":
        return {}
    if task == "classification":
        smallest = int(min(np.bincount(targets.astype(int), minlength=2)))
        folds = min(folds, smallest)
        if folds < 2:
            raise ValueError("Cross-fitted baselines need at least 2 examples of each class.")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        folds = min(folds, len(targets))
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    embedder = embedder or CachedEmbedder()
    out: dict[str, np.ndarray] = {}
    for train, test in splitter.split(np.zeros(len(targets)), targets):
        scores = fit_baselines([docs[i] for i in train], targets[train], [docs[i] for i in test], task, which,
                               embedder, seed)
        for name, values in scores.items():
            out.setdefault(name, np.full(len(targets), np.nan))[test] = values
    return out


def score_baselines(scores: dict[str, np.ndarray], targets, task: str, threshold: float = 0.5,
                    resamples: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Each baseline's test metrics (at `threshold` for classification) and their bootstrap intervals."""
    targets = np.asarray(targets)
    out = {}
    for name, values in scores.items():
        def metric(index, values=values):
            if task == "regression":
                return regression_metrics(values[index], targets[index])
            return binary_metrics(values[index], targets[index], threshold)

        out[name] = {"description": BASELINE_DESCRIPTIONS[name], "test": metric(np.arange(len(targets))),
                     "test_intervals": bootstrap_intervals(metric, len(targets), resamples, seed) if resamples else {}}
    return out


def gain_over_baselines(system_scores, baseline_scores: dict[str, np.ndarray], targets, task: str,
                        resamples: int = 1000, seed: int = 0) -> dict | None:
    """The system's gain over the better baseline on GAIN_METRIC[task] (AUPRC up, or RMSE down, as a positive
    number when the system is better), with a paired percentile bootstrap interval: system and baseline are
    scored on the same resampled units. None when there are no baselines."""
    if not baseline_scores:
        return None
    metric_name = GAIN_METRIC[task]
    targets = np.asarray(targets)
    system_scores = np.asarray(system_scores, dtype=np.float64)

    def value(scores, index) -> float:
        if task == "regression":
            return regression_metrics(scores[index], targets[index])["rmse"]
        return binary_metrics(scores[index], targets[index])["auprc"]

    everything = np.arange(len(targets))
    points = {name: value(s, everything) for name, s in baseline_scores.items()}
    usable = {name: v for name, v in points.items() if not math.isnan(v)}
    if not usable:
        return None
    better = (min if task == "regression" else max)(usable, key=usable.get)
    sign = -1.0 if task == "regression" else 1.0

    def gain(index):
        return {"gain": sign * (value(system_scores, index) - value(baseline_scores[better], index))}

    interval = bootstrap_intervals(gain, len(targets), resamples, seed)["gain"] if resamples else [math.nan] * 2
    point = gain(everything)["gain"]
    return {"metric": metric_name, "better_baseline": better, "baseline_value": usable[better],
            "system_value": value(system_scores, everything), "gain": point, "interval": interval,
            "significant": bool(interval[0] > 0 or interval[1] < 0) if not math.isnan(interval[0]) else False}
