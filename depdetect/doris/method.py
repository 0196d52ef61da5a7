"""DORIS's method as named steps (arXiv 2403.10750, section 3.2), pure functions over arrays. The batch path
(`DorisPipeline.featurize`) and the streaming path (`DorisUserStream.add`) call the same steps; the feature
equations themselves (eqs. 4, 8, 9, 10) are in features.py.

Shapes: N posts, d embedding size, 9 symptoms (DSM-5), 5 emotions.
"""

from __future__ import annotations

import numpy as np

from .features import risk_scores


def template_similarities(post_embeddings: np.ndarray, symptom_templates: np.ndarray,
                          emotion_templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Section 3.2.1 / 3.2.2: cosine similarity of each post to the symptom and the emotion templates (all rows
    L2-normalised). (N, d), (9, d), (5, d) -> S (N, 9), Em (N, 5)."""
    return post_embeddings @ symptom_templates.T, post_embeddings @ emotion_templates.T


def annotation_targets(symptom_similarity: np.ndarray, risk_cutoff: float, skip: bool = False) -> np.ndarray:
    """Section 3.2.1: the posts the LLM annotates, those whose risk (eq. 3, mean similarity to the symptom
    templates) is in the training corpus' top k% (at or above `risk_cutoff`). `skip`: none (the DC feature is
    ablated and no evidence is asked for). (N, 9) -> indices (M,)."""
    selected = np.flatnonzero(risk_scores(symptom_similarity) >= risk_cutoff)
    return selected[:0] if skip else selected


def symptom_vectors(num_posts: int, selected: np.ndarray, answers: list[list[str] | None],
                    codes: list[str]) -> tuple[np.ndarray, int]:
    """Section 3.2.1: E_p, the 0/1 vector of the symptoms the annotator found in each post (zero for posts not
    annotated and for unreadable answers), and how many answers were unreadable. -> (N, 9) float32, count."""
    E = np.zeros((num_posts, len(codes)), dtype=np.float32)
    unreadable = 0
    for i, answer in zip(selected, answers):
        if answer is None:
            unreadable += 1
            continue
        E[i, [codes.index(c) for c in answer]] = 1.0
    return E, unreadable


def emotional_posts(emotion_similarity: np.ndarray, emotion_cutoffs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Section 3.2.2: P_E, the posts whose similarity to some emotion template is in the training corpus' top m%
    for that emotion, and each post's dominant emotion among those it clears. (N, 5) -> (N,) bool, (N,) int."""
    cleared = emotion_similarity >= np.asarray(emotion_cutoffs)  # (N, 5)
    return cleared.any(axis=1), np.where(cleared, emotion_similarity, -np.inf).argmax(axis=1)


def mood_course_posts(posts: list[dict], order: list[int], emotional: np.ndarray, dominant: np.ndarray,
                      emotions: list[dict]) -> list[dict]:
    """Section 3.2.2: the emotional posts of one user in time order, each with its dominant emotion's name: what
    the mood-course summary T_MC is written from. `order`: the user's post indices in time order."""
    return [{"text": posts[i]["text"], "timestamp": posts[i]["timestamp"],
             "emotion": emotions[int(dominant[i])]["name"]} for i in order if emotional[i]]
