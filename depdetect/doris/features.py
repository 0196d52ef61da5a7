"""DORIS's feature maths as small pure functions (arXiv 2403.10750, eqs. 3, 4, 8, 9, 10)."""

from __future__ import annotations

import numpy as np

#: Cosine similarities lie in [-1, 1]: these cut-offs select no post (k = 0) or every post (k = 100).
NONE_SELECTED, ALL_SELECTED = 2.0, -2.0


def normalize_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def risk_scores(symptom_similarity: np.ndarray) -> np.ndarray:
    """Eq. 3: a post's depression risk = its mean cosine similarity to the symptom templates. (N, 9) -> (N,)."""
    return symptom_similarity.mean(axis=1)


def top_percent_cutoff(values: np.ndarray, percent: float) -> float:
    """The value at or above which a post is in the top `percent`% of `values` (the training corpus)."""
    if percent <= 0:
        return NONE_SELECTED
    if percent >= 100:
        return ALL_SELECTED
    return float(np.quantile(values, 1 - percent / 100))


def feature_sums(post_embeddings: np.ndarray, symptom_vectors: np.ndarray, emotional: np.ndarray) -> dict:
    """The sums the user features are made of (float64), as the streaming state keeps them running."""
    h = np.asarray(post_embeddings, dtype=np.float64)
    return {
        "num_posts": int(h.shape[0]),
        "embedding_sum": h.sum(axis=0),
        "symptom_sum": np.asarray(symptom_vectors, dtype=np.float64).sum(axis=0),
        "emotional_sum": h[np.asarray(emotional, dtype=bool)].sum(axis=0),
        "emotional_count": int(np.asarray(emotional, dtype=bool).sum()),
    }


def features_from_sums(num_posts: int, embedding_sum: np.ndarray, symptom_sum: np.ndarray,
                       emotional_sum: np.ndarray, emotional_count: int, mood_course_embedding: np.ndarray | None,
                       ablate: tuple[str, ...] | list[str] = ()) -> np.ndarray:
    """F = concat(F_MC + F_PH, F_DC) (eq. 10) from the running sums: F_DC = symptom_sum / n (eq. 4); F_MC =
    (emotional_sum + Emb(T_MC)) / (|P_E| + 1) (eq. 8); F_PH = embedding_sum / n (eq. 9). Computed in float64, then
    float32, so a streamed user and the same user scored at once get the same features."""
    if num_posts < 1:
        raise ValueError("A user needs at least one post to have features.")
    parts = []
    dense = []
    if "mc" not in ablate:
        if mood_course_embedding is None:
            raise ValueError("The mood-course feature needs the summary's embedding.")
        dense.append((emotional_sum + np.asarray(mood_course_embedding, dtype=np.float64)) / (emotional_count + 1))
    if "ph" not in ablate:
        dense.append(embedding_sum / num_posts)
    if dense:
        parts.append(dense[0] + dense[1] if len(dense) == 2 else dense[0])  # (d,)
    if "dc" not in ablate:
        parts.append(symptom_sum / num_posts)  # (9,)
    return np.concatenate(parts).astype(np.float32)


def user_features(
    post_embeddings: np.ndarray,  # (n, d) H_p, L2-normalised
    symptom_vectors: np.ndarray,  # (n, 9) E_p, 0/1
    emotional: np.ndarray,  # (n,) bool: p in P_E
    mood_course_embedding: np.ndarray | None,  # (d,) Emb(T_MC)
    ablate: tuple[str, ...] | list[str] = (),
) -> np.ndarray:
    """F = concat(F_MC + F_PH, F_DC) for one user (eq. 10), with any of dc/mc/ph left out.

    F_DC = mean of E_p over all posts (eq. 4); F_MC = (sum of H_p over P_E + Emb(T_MC)) / (|P_E| + 1) (eq. 8);
    F_PH = mean of H_p over all posts (eq. 9). Without MC (or PH) the summed part is the other one alone.
    """
    return features_from_sums(**feature_sums(post_embeddings, symptom_vectors, emotional),
                              mood_course_embedding=mood_course_embedding, ablate=ablate)


def feature_names(dimension: int, symptom_codes: list[str], ablate: tuple[str, ...] | list[str] = ()) -> list[str]:
    names = [] if {"mc", "ph"} <= set(ablate) else [f"emb_{i}" for i in range(dimension)]
    if "dc" not in ablate:
        names += [f"dc_{code}" for code in symptom_codes]
    return names
