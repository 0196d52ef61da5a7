"""A simple early-risk baseline: TF-IDF + logistic regression re-fitted for every prefix length.

At step k (k posts read, or k chunks), the model is fitted on the training users' first k posts (the whole history of
those with fewer) and scores each user's first k posts. Fitting one model per prefix length gives every step a model
that saw documents of that length, which a model fitted on whole histories and applied to short prefixes would not
(its scores drift with document length). Same TF-IDF settings as depdetect.baselines (word 1-2-grams, sublinear
tf, balanced logistic regression, C=1).
"""

from __future__ import annotations

from collections.abc import Sequence

from .policy import Trajectory
from .streams import chunks, ordered_posts


def _texts(user: dict) -> list[str]:
    return [p["text"] for p in ordered_posts(user)[0]]


def tfidf_prefix_trajectories(train_users: Sequence[dict], users: Sequence[dict], chunk_size: int = 1,
                              seed: int = 0) -> list[Trajectory]:
    """The trajectory of each of `users` under TF-IDF + logistic regression re-fitted per prefix on
    `train_users` (checked users of the `users` schema, labelled)."""
    from ..baselines import fit_baselines

    train_docs = [_texts(u) for u in train_users]
    train_y = [int(u["label"]) for u in train_users]
    docs = [_texts(u) for u in users]
    steps = [len(chunks(doc, chunk_size)) for doc in docs]
    scores: list[list[float]] = [[] for _ in users]
    for step in range(1, max(steps) + 1):
        length = step * chunk_size
        active = [i for i, n in enumerate(steps) if n >= step]
        fitted = fit_baselines([d[:length] for d in train_docs], train_y, [docs[i][:length] for i in active],
                               which="tfidf", seed=seed)["tfidf_logreg"]
        for i, p in zip(active, fitted):
            scores[i].append(float(p))
    out = []
    for user, doc, row in zip(users, docs, scores):
        seen = [min(len(doc), (s + 1) * chunk_size) for s in range(len(row))]
        label = user.get("label")
        out.append(Trajectory(str(user.get("user_id", "?")), seen, row, label=int(label) if label in (0, 1) else None))
    return out

