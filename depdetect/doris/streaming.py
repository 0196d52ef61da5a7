"""DORIS scored as a user's posts arrive: per-user running state, so adding a post costs work for that post only.

    stream = doris.stream("user-1")           # a fitted DorisPipeline
    for post in posts_as_they_arrive:         # {text, timestamp} dicts (or strings)
        p = stream.add(post)                  # P(depression) after this post (calibrated)
    stream.evidence()                         # what explain() reports, for the posts so far

The state holds the running sums of the features (post embeddings for PH, symptom vectors for DC, emotional
posts' embeddings for MC), the emotional posts in time order (the mood-course summary is written from them) and
the posts annotated with symptoms (the evidence). Per post: one embedding, the fitted risk cut-off decides whether
it is annotated (one annotator call), the fitted emotion cut-offs whether it is emotional; only then is the
mood-course summary refreshed (one LLM call with an LLM backend, cached like the batch path's) and re-embedded.
The trees then score one row. After the last post the score equals `predict_proba` of the whole history.

Posts should arrive in time order; a dated post older than the last one is placed where its time puts it in the
mood course (as the batch path's ordering would), with a warning naming the user. While any post is undated, the
mood course keeps the order the posts arrived in (the batch path's rule for histories with undated posts).
"""

from __future__ import annotations

import bisect
import logging
import sys

import numpy as np

from ..schemas import check_user, parse_timestamp
from .features import features_from_sums
from .method import emotional_posts, template_similarities

logger = logging.getLogger(__name__)


class DorisUserStream:
    """The running state of one user for a fitted DorisPipeline (see the module docstring).

    Args:
        pipeline: a fitted DorisPipeline.
        user_id: names the user in warnings and errors.
        evidence: keep the symptom posts for `evidence()` (annotating the top-risk posts even when the DC
            feature is ablated, as `explain` does).
    """

    def __init__(self, pipeline, user_id: str = "user", evidence: bool = True):
        config = pipeline.config
        if pipeline.booster is None or not config.fitted:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        self.pipeline = pipeline
        self.user_id = str(user_id)
        self.keep_evidence = evidence
        d = int(config.embedding_dim)
        self.num_posts = 0
        self.embedding_sum = np.zeros(d, dtype=np.float64)
        self.symptom_sum = np.zeros(len(config.symptoms), dtype=np.float64)
        self.emotional_sum = np.zeros(d, dtype=np.float64)
        self.emotional_count = 0
        self.mood_posts: list[dict] = []  # {text, timestamp, emotion}, in the mood course's order
        self._mood_keys: list[tuple] = []  # (time, arrival) of each mood post while every post is dated
        self.symptom_posts: list[dict] = []  # {index, text, timestamp, codes}: the evidence
        self.all_dated = True
        self._last_time = None
        self._warned_order = False
        self.summary: str | None = None
        self.summary_embedding: np.ndarray | None = None
        self.probability: float | None = None
        self.uncalibrated: float | None = None

    # -- adding posts -----------------------------------------------------------------------------------------

    def add(self, posts) -> float:
        """Add one post (a {text, timestamp} dict or a string) or a list of them (a chunk: embedded and annotated
        together, scored once); returns P(depression) after them (calibrated)."""
        import xgboost as xgb

        pipeline, config = self.pipeline, self.pipeline.config
        chunk = posts if isinstance(posts, list) else [posts]
        if not chunk:
            raise ValueError(f"user {self.user_id!r}: no posts to add.")
        checked = check_user({"user_id": self.user_id, "posts": chunk}, f"after {self.num_posts} posts")["posts"]
        texts = [p["text"] for p in checked]
        H = pipeline.embed(texts)  # (n, d), cached like the batch path's
        S, Em = template_similarities(H, *pipeline.template_embeddings())  # (n, 9), (n, 5)
        selected, E = pipeline.annotate_posts(texts, S, evidence=self.keep_evidence)
        self.symptom_sum += E.sum(axis=0, dtype=np.float64)
        codes = [s["code"] for s in config.symptoms]
        found = {int(i): [codes[j] for j in np.flatnonzero(E[i])] for i in selected if E[i].any()}
        emotional, dominant = emotional_posts(Em, config.emotion_cutoffs)
        for i, post in enumerate(checked):
            arrival = self.num_posts
            self.num_posts += 1
            self.embedding_sum += H[i].astype(np.float64)
            moment = self._note_time(post)
            if i in found:
                self.symptom_posts.append({"index": arrival, "text": post["text"], "timestamp": post["timestamp"],
                                           "codes": found[i], "_key": (moment, arrival),
                                           "similarity": {c: round(float(S[i, codes.index(c)]), 4)
                                                          for c in found[i]}})
            if emotional[i]:
                self.emotional_sum += H[i].astype(np.float64)
                self.emotional_count += 1
                self._add_mood_post({"text": post["text"], "timestamp": post["timestamp"],
                                     "emotion": config.emotions[int(dominant[i])]["name"]}, (moment, arrival))
        if self.summary is None or emotional.any():
            self._refresh_summary()
        row = features_from_sums(self.num_posts, self.embedding_sum, self.symptom_sum, self.emotional_sum,
                                 self.emotional_count, self.summary_embedding, config.ablate)
        raw = float(pipeline.booster.predict(xgb.DMatrix(row[None, :], feature_names=config.feature_names))[0])
        self.uncalibrated = raw
        self.probability = float(pipeline.calibrate(np.array([raw]))[0])
        return self.probability

    def _note_time(self, post: dict):
        """The post's time (None when undated); switches the mood course to arrival order at the first undated
        post, and warns (once) when a dated post is older than the one before it."""
        moment = parse_timestamp(post["timestamp"], f"user {self.user_id!r}")
        if moment is None:
            if self.all_dated:
                self.all_dated = False
                self.mood_posts = [p for _, p in sorted(zip(self._mood_keys, self.mood_posts), key=lambda x: x[0][1])]
                self._mood_keys = []
            return None
        if self._last_time is not None and moment < self._last_time and not self._warned_order:
            self._warned_order = True
            logger.warning("user %r: a post is older than the one before it; the mood course places it by its time.",
                           self.user_id)
        self._last_time = moment if self._last_time is None else max(moment, self._last_time)
        return moment

    def _add_mood_post(self, post: dict, key: tuple) -> None:
        if self.all_dated:  # time order (ties: arrival order), as sorted() orders the batch path's posts
            place = bisect.bisect_right(self._mood_keys, key)
            self._mood_keys.insert(place, key)
            self.mood_posts.insert(place, post)
        else:
            self.mood_posts.append(post)

    def _refresh_summary(self) -> None:
        pipeline, config = self.pipeline, self.pipeline.config
        need_mood = "mc" not in config.ablate or self.keep_evidence
        self.summary = pipeline.summarize([list(self.mood_posts)])[0] if need_mood else None
        if "mc" not in config.ablate:
            self.summary_embedding = pipeline.embed([self.summary])[0]

    # -- what the state tells -------------------------------------------------------------------------------

    def evidence(self) -> dict:
        """The decision so far with its evidence, as `DorisPipeline.explain` reports it for the posts so far:
        label, probability, symptoms (with their posts), mood course and the written explanation."""
        if self.probability is None:
            raise ValueError(f"user {self.user_id!r} has no posts yet: add at least one before asking for evidence.")
        codes = [s["code"] for s in self.pipeline.config.symptoms]
        posts = sorted(self.symptom_posts, key=lambda p: p["_key"]) if self.all_dated else self.symptom_posts
        by_symptom: dict[int, list[dict]] = {}
        for post in posts:
            for code in post["codes"]:
                by_symptom.setdefault(codes.index(code), []).append({"text": post["text"],
                                                                     "timestamp": post["timestamp"],
                                                                     "similarity": post["similarity"][code]})
        info = {"symptom_posts": by_symptom, "mood_course": self.summary, "mood_posts": self.mood_posts}
        out = self.pipeline.explained(info, self.probability)
        out["posts_seen"] = self.num_posts
        return out

    def state_bytes(self) -> dict[str, int]:
        """Memory of the running state: `fixed` (the sums and counters, the same for every history length) and
        `posts_kept` (the emotional and symptom posts kept for the mood course and the evidence)."""
        arrays = (self.embedding_sum, self.symptom_sum, self.emotional_sum)
        fixed = sum(a.nbytes for a in arrays) + (self.summary_embedding.nbytes if self.summary_embedding is not None
                                                 else 0)
        kept = sum(sys.getsizeof(p["text"]) + sys.getsizeof(p["timestamp"] or "") for p in self.mood_posts)
        kept += sum(sys.getsizeof(p["text"]) for p in self.symptom_posts)
        kept += sys.getsizeof(self.summary or "")
        return {"fixed": int(fixed), "posts_kept": int(kept), "mood_posts": len(self.mood_posts),
                "symptom_posts": len(self.symptom_posts)}
