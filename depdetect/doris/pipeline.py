"""DorisPipeline: fit, predict, explain, evaluate, save and load DORIS (arXiv 2403.10750).

    from depdetect import DorisConfig, DorisPipeline
    doris = DorisPipeline(DorisConfig(k=20, m=30)).fit(train_users)    # users schema: user_id, posts, label
    doris.predict_proba(test_users); doris.explain(test_users[0]); doris.evaluate(test_users)
    doris.save_pretrained("outputs/doris"); DorisPipeline.from_pretrained("outputs/doris")
    depdetect.push_to_hub(doris, "your-name/depdetect-doris", metrics=...)   # publishing lives in depdetect.hub

The method's steps are doris/method.py's functions (featurize calls them over all posts at once; streaming.py
calls the same ones per post). Work is split across Accelerate processes when launched with `accelerate
launch`/`torchrun` (embedding, annotation and summaries via `split_between_processes`, results gathered), and cached
on disk when `cache_dir` is given, so a killed run resumes without redoing finished annotations: both in
doris/cache.py (`PipelineCaches`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from ..calibration import calibrate
from ..extras import require as require_extra
from ..folders import folder_file
from ..metrics import classification_metrics
from ..schemas import check_user, parse_timestamp
from ..utils import saved_versions, write_files, write_json, write_text
from .annotators import EmbeddingAnnotator, make_annotator, offline_explanation, offline_summary
from .cache import PipelineCaches, cache_key, store
from .config import CONFIG_NAME, DorisConfig
from .features import feature_names, risk_scores, top_percent_cutoff, user_features
from .method import annotation_targets, emotional_posts, mood_course_posts, symptom_vectors, template_similarities

logger = logging.getLogger(__name__)

BOOSTER_NAME = "xgboost_model.json"
#: fewest training users of each class DORIS fits on (fewer give trees and cut-offs that mean nothing)
MIN_USERS_PER_CLASS = 5


def _as_users(users) -> list[dict]:
    """Users as a list of dicts: one user dict, a list of them, a datasets.Dataset or a pandas DataFrame (one user a
    row); anything else is refused by name."""
    if isinstance(users, dict):
        return [users]
    if hasattr(users, "columns") and hasattr(users, "to_dict"):  # a pandas DataFrame
        return users.to_dict("records")
    if hasattr(users, "to_list"):  # a datasets.Dataset
        return users.to_list()
    if isinstance(users, (str, bytes)) or not hasattr(users, "__iter__"):
        raise ValueError(f"users must be a user dict, a list of them, a Dataset or a DataFrame of users (user_id, "
                         f"posts), got {type(users).__name__}.")
    return list(users)


def _time_order(posts: list[dict]) -> list[int]:
    """Post indexes in time order when every post has a timestamp; the given order otherwise."""
    times = [parse_timestamp(p["timestamp"], "post") for p in posts]
    if any(t is None for t in times):
        return list(range(len(posts)))
    return sorted(range(len(posts)), key=lambda i: times[i])


class DorisPipeline:
    """DORIS: symptom features (DC), mood course (MC) and post history (PH) -> XGBoost, with explanations.

    Args:
        config: a DorisConfig (defaults: the paper's templates and prompts, k=20, m=30).
        embedder: an object with `identifier`, `dimension` and `encode(texts) -> (N, d)` (e.g.
            `SentenceTransformerEmbedder`); loaded from `config.embedder` on first use when None.
        annotator: an annotator (see depdetect.doris.annotators); built from `config.annotator` when None.
        cache_dir: folder for the on-disk caches of embeddings, annotations and summaries. Without one, they are
            kept in memory, at most `memory_size` entries of each kind (least recently used dropped first).
        state: an Accelerate `PartialState` to split work across processes (default: the process-wide one).
        batch_size: posts per annotation batch (each batch is cached as soon as it is answered).
    """

    def __init__(self, config: DorisConfig | None = None, embedder=None, annotator=None,
                 cache_dir: str | Path | None = None, state=None, batch_size: int = 32, memory_size: int = 100_000):
        require_extra("doris", "DorisPipeline")
        self.config = config or DorisConfig()
        self.embedder = embedder
        if embedder is not None:
            self.config.embedder = embedder.identifier
        if annotator is None or isinstance(annotator, str):
            annotator = make_annotator(
                annotator or self.config.annotator, self.config.annotator_state, symptoms=self.config.symptoms
            )
        self.annotator = annotator
        if not self.config.fitted:  # a fitted config keeps the annotator it was fitted with (for the card)
            self.config.annotator = _public_spec(annotator)
        self.caches = PipelineCaches(cache_dir, memory_size, state)
        self.batch_size = batch_size
        self.booster = None
        self.stats: Counter = Counter()
        self._folder: Path | None = None  # the folder from_pretrained read (saved paths resolve only inside it)
        self._templates = None

    # -- plumbing (caches and work splitting: doris/cache.py) -----------------------------------------------------

    @property
    def state(self):
        """The Accelerate state work is split over (see `PipelineCaches.state`)."""
        return self.caches.state

    def _get_embedder(self):
        if self.embedder is None:
            from ..embedder import load_embedder, resolve_saved_embedder

            if self._folder is not None:  # a loaded pipeline: its saved name is resolved safely
                self.embedder = resolve_saved_embedder(self.config.embedder, self._folder)
            else:
                self.embedder = load_embedder(self.config.embedder)
        return self.embedder

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings of `texts`, each distinct text embedded once (and cached)."""
        embedder = self._get_embedder()
        out, computed = self.caches.embed(embedder, texts)
        self.stats["posts_embedded"] += computed
        return out

    def template_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        if self._templates is None:
            symptoms = self.embed([s["template"] for s in self.config.symptoms])
            emotions = self.embed([e["template"] for e in self.config.emotions])
            self._templates = (symptoms, emotions)
        return self._templates

    def _llm_key(self, prompt_kind: str, payload: str) -> str:
        a = self.annotator
        return cache_key(a.backend, a.model, self.config.prompt_versions[prompt_kind], payload)

    def annotate(self, texts: list[str], similarity: np.ndarray) -> list[list[str] | None]:
        """Symptom codes per text (None: unreadable answer); LLM answers cached per text as they arrive."""
        a = self.annotator
        if not a.uses_llm:
            return a.annotate(texts, similarity)
        keys = [self._llm_key("annotate", t) for t in texts]
        return self.caches.answered("annotations", keys, texts, lambda batch: a.annotate(batch, None),
                                    self.batch_size, self._get_embedder())

    def summarize(self, post_lists: list[list[dict]]) -> list[str]:
        a = self.annotator
        if not a.uses_llm:
            return [a.summarize(posts) for posts in post_lists]
        keys = [self._llm_key("mood_course", json.dumps(posts, sort_keys=True)) for posts in post_lists]
        answers = self.caches.answered("summaries", keys, post_lists, lambda batch: [a.summarize(p) for p in batch], 1,
                                       self._get_embedder())
        out = []
        for posts, answer in zip(post_lists, answers):
            if answer is None:  # unreadable after retries: the offline summary stands in (and nothing is cached)
                self.stats["unparseable_summaries"] += 1
                answer = offline_summary(posts)
            out.append(answer)
        return out

    # -- the method -------------------------------------------------------------------------------------------

    def featurize(self, users: list[dict], fit: bool = False, details: bool = False):
        """Feature matrix (U, D) for validated users; with `details`, what explain() reports per user. The
        method's steps (doris/method.py) over all posts at once, then eq. 10 per user."""
        cfg = self.config
        users = [check_user(u, f"users[{i}]") for i, u in enumerate(users)]
        if not users:
            raise ValueError("No users given.")
        texts = [p["text"] for u in users for p in u["posts"]]
        offsets = np.cumsum([0] + [len(u["posts"]) for u in users])
        H = self.embed(texts)  # (N, d)
        S, Em = template_similarities(H, *self.template_embeddings())  # (N, 9), (N, 5)
        if fit:
            self._fit_cutoffs(H, S, Em)
        elif not cfg.fitted:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        _, E = self.annotate_posts(texts, S, evidence=details)  # (N, 9) E_p
        emotional, dominant = emotional_posts(Em, cfg.emotion_cutoffs)  # (N,), (N,)
        orders = [_time_order(user["posts"]) for user in users]
        mood_posts = [mood_course_posts(user["posts"], orders[u], emotional[offsets[u]:], dominant[offsets[u]:],
                                        cfg.emotions) for u, user in enumerate(users)]
        summaries = self.summarize(mood_posts) if "mc" not in cfg.ablate or details else [None] * len(users)
        mood_emb = self.embed(summaries) if "mc" not in cfg.ablate else [None] * len(users)
        X = np.stack([
            user_features(H[offsets[u] : offsets[u + 1]], E[offsets[u] : offsets[u + 1]],
                          emotional[offsets[u] : offsets[u + 1]], mood_emb[u], cfg.ablate)
            for u in range(len(users))
        ])  # (U, D)
        if not np.isfinite(X).all():
            raise ValueError("Some user features are NaN or infinite; check the embedder's output.")
        if not details:
            return X, users
        info = [{"symptom_posts": _symptom_posts(user["posts"], orders[u], E[offsets[u] : offsets[u + 1]],
                                                 S[offsets[u] : offsets[u + 1]]),
                 "mood_course": summaries[u], "order": orders[u], "mood_posts": mood_posts[u],
                 "annotated": E[offsets[u] : offsets[u + 1]], "similarity": S[offsets[u] : offsets[u + 1]],
                 "emotional": emotional[offsets[u] : offsets[u + 1]]} for u, user in enumerate(users)]
        return X, users, info

    def _fit_cutoffs(self, H: np.ndarray, S: np.ndarray, Em: np.ndarray) -> None:
        """What fitting learns from the training posts: the top-k% risk and top-m% emotion cut-offs, the
        annotator's state and the feature layout."""
        cfg = self.config
        cfg.risk_cutoff = top_percent_cutoff(risk_scores(S), cfg.k)
        cfg.emotion_cutoffs = [top_percent_cutoff(Em[:, j], cfg.m) for j in range(Em.shape[1])]
        self.annotator.fit(S)
        cfg.annotator = _public_spec(self.annotator)
        cfg.annotator_state = self.annotator.state()
        if self.annotator.uses_llm:  # what a loaded copy uses unless its user asks for the LLM again
            offline = EmbeddingAnnotator(symptoms=cfg.symptoms)
            offline.fit(S)
            cfg.annotator_state["offline"] = offline.state()
        cfg.embedding_dim = int(H.shape[1])
        cfg.feature_names = feature_names(H.shape[1], [s["code"] for s in cfg.symptoms], cfg.ablate)

    def annotate_posts(self, texts: list[str], S: np.ndarray, evidence: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Section 3.2.1 for a batch of posts: the top-k% risk posts (none when DC is ablated and no `evidence`
        is asked for) annotated, as (their indices, E_p for every post (N, 9)); counted in `stats`."""
        cfg = self.config
        selected = annotation_targets(S, cfg.risk_cutoff, skip="dc" in cfg.ablate and not evidence)
        answers = self.annotate([texts[i] for i in selected], S[selected]) if selected.size else []
        E, unreadable = symptom_vectors(len(texts), selected, answers, [s["code"] for s in cfg.symptoms])
        self.stats["posts"] += len(texts)
        self.stats["posts_annotated"] += int(selected.size)
        self.stats["unparseable_answers"] += unreadable
        return selected, E

    def _labels(self, users: list[dict], labels) -> np.ndarray:
        if labels is None:
            labels = [u.get("label") for u in users]
        else:
            if isinstance(labels, (str, bytes, dict)) or not hasattr(labels, "__len__"):
                raise ValueError(f"`labels` must be a list with one label per user, got {type(labels).__name__}.")
            if np.ndim(labels) != 1 or len(labels) != len(users):
                raise ValueError(
                    f"`labels` holds {len(labels)} entries (shape {np.shape(labels)}) for {len(users)} users; pass "
                    "exactly one 0/1 label per user, in the users' order."
                )
            labels = list(labels)
        out = []
        for i, label in enumerate(labels):
            if isinstance(label, str) and label in self.config.label_names:
                label = self.config.label_names.index(label)
            if isinstance(label, (bool, np.bool_)) or label not in (0, 1):
                raise ValueError(
                    f"users[{i}] has label {label!r}; DORIS needs 0 ({self.config.label_names[0]!r}) or 1 "
                    f"({self.config.label_names[1]!r})."
                )
            out.append(int(label))
        return np.asarray(out)

    def fit(self, users, labels=None) -> DorisPipeline:
        """Fit the cut-offs, the annotator and the head (`config.head`: trees, logistic, or auto: chosen by 5-fold
        cross-validation on these users, depdetect.doris.heads) on training users (labels from `users` when None)."""
        from .heads import choose_head, fit_head

        users = _as_users(users)
        y = self._labels(users, labels) if users else np.zeros(0)
        if len(set(y.tolist())) < 2:
            raise ValueError(
                f"The training users hold a single class ({sorted(set(y.tolist()))}); DORIS needs depressed and "
                "control users to fit."
            )
        counts = [int((y == c).sum()) for c in (0, 1)]
        if min(counts) < MIN_USERS_PER_CLASS:
            names = self.config.label_names
            raise ValueError(
                f"DORIS fits on at least {MIN_USERS_PER_CLASS} users of each class; the training users hold "
                f"{counts[0]} {names[0]} and {counts[1]} {names[1]}. Add users (the paper's cohorts hold hundreds)."
            )
        X, _ = self.featurize(users, fit=True)
        config = self.config
        selection = choose_head(X, y, config.xgboost, config.seed) if config.head == "auto" else {}
        if selection:
            config.head = selection["chosen"]
        self.booster, inside = fit_head(config.head, X, y, config.xgboost, config.seed, config.feature_names)
        config.head_selection = {**selection, **inside}
        self.config.versions = saved_versions("xgboost", "sentence-transformers")
        return self

    def predict_proba(self, users, calibrated: bool = True) -> np.ndarray:
        """P(depression) per user, shape (U,): calibrated with the saved calibration (Platt scaling fitted on
        validation) unless `calibrated=False`."""
        import xgboost as xgb

        if self.booster is None:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        X, _ = self.featurize(_as_users(users))
        p = self.booster.predict(xgb.DMatrix(X, feature_names=self.config.feature_names)).astype(np.float64)
        return self.calibrate(p) if calibrated else p

    def calibrate(self, p) -> np.ndarray:
        """The saved calibration applied to the trees' P(depression) (identity when none was fitted)."""
        return calibrate(p, self.config.calibration or None)

    def predict(self, users) -> np.ndarray:
        return (self.predict_proba(users) >= self.config.decision_threshold).astype(int)

    def explain(self, user: dict) -> dict:
        """The decision for one user with its evidence: symptoms found (with posts), mood course, explanation."""
        if not isinstance(user, dict):
            raise ValueError(f"explain() takes one user dict (user_id, posts), got {type(user).__name__}.")
        return self.explain_batch([user])[0]

    def explain_batch(self, users, return_uncalibrated: bool = False) -> list[dict]:
        """`explain` for several users at once (one featurisation pass); `return_uncalibrated` adds the trees' own
        P(depression) as `uncalibrated_probability`."""
        import xgboost as xgb

        if self.booster is None:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        X, _, infos = self.featurize(_as_users(users), details=True)
        raw = self.booster.predict(xgb.DMatrix(X, feature_names=self.config.feature_names)).astype(np.float64)
        out = [self.explained(info, float(p)) for info, p in zip(infos, self.calibrate(raw))]
        if return_uncalibrated:
            for row, r in zip(out, raw):
                row["uncalibrated_probability"] = float(r)
        return out

    def explained(self, info: dict, probability: float) -> dict:
        depressed = probability >= self.config.decision_threshold
        symptoms = [
            {"code": s["code"], "name": s["name"], "posts": info["symptom_posts"][j]}
            for j, s in enumerate(self.config.symptoms) if j in info["symptom_posts"]
        ]
        by_post: dict[tuple, list[str]] = {}
        for s in symptoms:
            for post in s["posts"]:
                by_post.setdefault((post["timestamp"], post["text"]), []).append(s["name"])
        symptom_posts = [{"text": text, "timestamp": ts, "symptoms": names} for (ts, text), names in by_post.items()]
        explanation = self._explanation(info["mood_course"], symptom_posts, depressed, probability)
        return {
            "label": self.config.label_names[int(depressed)],
            "probability": probability,
            "symptoms": symptoms,
            "mood_course": info["mood_course"],
            # the mood course's posts by time and dominant emotion (no text: the summary quotes them), for timelines
            "mood_posts": [{"timestamp": p["timestamp"], "emotion": p["emotion"]} for p in info.get("mood_posts", [])],
            "explanation": explanation,
            "evidence_chosen_by": getattr(self.annotator, "evidence_note", None) or (
                f"Chosen by the annotator {_public_spec(self.annotator)!r}, not by a clinical judgement."),
        }

    def _explanation(self, mood_course: str, symptom_posts: list[dict], depressed: bool, probability: float) -> str:
        a = self.annotator
        if not a.uses_llm:
            return a.explain(mood_course, symptom_posts, depressed, probability)
        cache = self.caches.answers("explanations", self._get_embedder())
        key = self._llm_key("explain", json.dumps([mood_course, symptom_posts, depressed], sort_keys=True))
        if key in cache:
            return cache.get(key)
        answer = a.explain(mood_course, symptom_posts, depressed, probability)
        if answer is None:  # unreadable after retries: the offline explanation, not cached
            self.stats["unparseable_explanations"] += 1
            return offline_explanation(mood_course, symptom_posts, depressed, probability)
        store(cache, key, answer)
        return answer

    def stream(self, user_id: str = "user", evidence: bool = True):
        """A running state for one user whose posts arrive one at a time (or in chunks): `add(post)` returns
        P(depression) after it at the cost of that post only; `evidence()` explains the decision so far. After the
        last post the score equals `predict_proba` of the whole history. See depdetect.doris.streaming."""
        from .streaming import DorisUserStream

        return DorisUserStream(self, user_id, evidence=evidence)

    def prefetch(self, users) -> None:
        """Embed the posts of `users` in large batches now (into the cache), so that streaming them one post at a
        time does not embed one post per call. Changes no score."""
        users = [check_user(u, f"users[{i}]") for i, u in enumerate(_as_users(users))]
        self.embed([p["text"] for u in users for p in u["posts"]])

    def evaluate(self, users, labels=None) -> dict:
        """Precision, recall, F1 (threshold `config.decision_threshold`), AUROC and AUPRC of the depressed class."""
        users = _as_users(users)
        y = self._labels(users, labels)
        p = self.predict_proba(users)
        return classification_metrics(np.stack([1 - p, p], axis=1), y, threshold=self.config.decision_threshold)

    # -- persistence --------------------------------------------------------------------------------------------

    def save_pretrained(self, folder: str | Path, metrics: dict | None = None, card=None,
                        include_embedder: bool = False, extra_files: dict[str, bytes] | None = None) -> Path:
        """Write `doris_config.json` and the trees in XGBoost's JSON format (`xgboost_model.json`); no pickle.

        Every file is first written beside its final name; only when all are written are they renamed into place,
        so a failure (a full disk) leaves a previously saved pipeline in `folder` whole and loadable. `metrics`
        (written as metrics.json) get the hashes of the config and trees they describe; `card(config, metrics)`
        gives the README.md text written with them. `include_embedder` copies a local sentence-transformers
        embedder into the folder (under the name the config records), so the folder loads anywhere on its own.
        `extra_files` ({relative path: bytes}) are written too (the plots), and so are the Inference Endpoints
        handler (`handler.py`, needs depdetect[doris]) and its `requirements.txt`.
        """
        if self.booster is None:
            raise RuntimeError("Nothing to save: fit the pipeline first.")
        from ..runs import artifact_hashes, saving_folder

        folder = Path(folder)
        from .endpoint import handler_files

        with saving_folder(folder) as tmp:
            self.config.to_json_file(tmp / CONFIG_NAME)
            write_files(tmp, {**handler_files(), **(extra_files or {})})
            self.booster.save_model(str(tmp / BOOSTER_NAME))
            if include_embedder:
                self._save_embedder(tmp)
            if metrics is not None:
                metrics = {**metrics, "artifacts": artifact_hashes(tmp, "doris"), "plots": sorted(extra_files or {})}
                write_json(tmp / "metrics.json", metrics)
            if card is not None:
                write_text(tmp / "README.md", str(card(self.config, metrics or {})))
        return folder

    def _save_embedder(self, folder: Path) -> None:
        from ..utils import MINILM_HUB_ID

        name = self.config.embedder
        if name == MINILM_HUB_ID:
            return  # the bundled MiniLM (or its Hub copy) loads without a copy
        model = getattr(self._get_embedder(), "model", None)
        if model is None or not hasattr(model, "save") or "/" in name or name.startswith("."):
            raise ValueError(f"include_embedder copies a local sentence-transformers model; the embedder {name!r} is "
                             "not one (a Hub id loads from the Hub; anything else: pass embedder= when loading).")
        model.save(str(folder / name))

    @classmethod
    def from_pretrained(cls, folder_or_repo_id: str | Path, embedder=None, annotator=None, revision: str | None = None,
                        **kwargs) -> DorisPipeline:
        """Load a saved pipeline from a folder or a Hub repo id (downloaded with huggingface_hub).

        Loading contacts no server and reads nothing outside the folder on its own: the symptom annotator is the
        offline embedding one (fitted with the pipeline) unless `annotator` is given (an annotator, or a spec
        such as "openai:http://localhost:8000/v1#MODEL"); a remote backend recorded in the config is reported,
        never called. The embedder is the Hub id the config names (from the Hub cache), or a folder inside the
        pipeline folder; any other path needs `embedder=` explicitly.
        """
        import xgboost as xgb

        folder = Path(folder_or_repo_id)
        if not folder.is_dir():
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(str(folder_or_repo_id), revision=revision))  # with an included embedder
        if not (folder / CONFIG_NAME).exists():
            raise FileNotFoundError(f"{folder} is not a saved DORIS pipeline: {CONFIG_NAME} is missing.")
        config_file, booster_file = (folder_file(folder, name, "DORIS folder") for name in (CONFIG_NAME, BOOSTER_NAME))
        try:
            config = DorisConfig.from_json_file(config_file)
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as err:
            raise ValueError(f"{config_file} is not a readable DORIS config ({err}).") from err
        if annotator is None or annotator == "embedding":
            annotator = offline_annotator(config)
        pipeline = cls(config, embedder=embedder, annotator=annotator, **kwargs)
        pipeline._folder = folder
        pipeline.booster = xgb.Booster()
        try:
            pipeline.booster.load_model(str(booster_file))
        except xgb.core.XGBoostError as err:
            reason = next((line.split("]", 1)[-1].strip(": ") for line in str(err).splitlines() if line.strip()), "")
            raise ValueError(f"{booster_file} is not a readable XGBoost model ({reason[:120]}): the tree file is "
                             "damaged or cut short; copy the folder again from where it came (or fit it again)."
                             ) from None
        features = config.feature_names
        if features is not None and pipeline.booster.num_features() != len(features):
            raise ValueError(f"{booster_file} reads {pipeline.booster.num_features()} features, but {config_file} "
                             f"names {len(features)}: the two files come from different fits; copy the folder again.")
        return pipeline


def offline_annotator(config: DorisConfig) -> EmbeddingAnnotator:
    """The annotator a loaded pipeline uses unless its caller picks one: the offline embedding annotator, with the
    thresholds fitted alongside the pipeline. A recorded LLM backend is reported, not contacted."""
    state = config.annotator_state or {}
    if config.annotator != "embedding":
        state = state.get("offline") or (state if state.get("thresholds") is not None else None)
        logger.warning(
            "This DORIS pipeline was fitted with symptom annotations from %r; loading does not contact it. It "
            "predicts with the offline embedding annotator (its features differ from training's); pass "
            "annotator=%r to DorisPipeline.from_pretrained to use that backend.", config.annotator, config.annotator,
        )
        if state is None:
            raise ValueError(
                f"This DORIS pipeline was fitted with {config.annotator!r} and holds no offline annotator state "
                "(saved by depdetect < 0.3); pass annotator=... to DorisPipeline.from_pretrained explicitly."
            )
    return make_annotator("embedding", state, symptoms=config.symptoms)


def _public_spec(annotator) -> str:
    """What a saved config records about an annotator: no local path, no credentials (annotators of your own
    without `public_spec` are recorded by their `spec`)."""
    return getattr(annotator, "public_spec", None) or annotator.spec


__all__ = ["BOOSTER_NAME", "DorisPipeline"]


def _symptom_posts(posts: list[dict], order: list[int], E: np.ndarray, S: np.ndarray) -> dict[int, list[dict]]:
    """{symptom index: the user's posts annotated with it, in time order, each with its cosine similarity to the
    symptom's description}: the evidence explain() reports."""
    found: dict[int, list[dict]] = {}
    for i in order:
        for j in np.flatnonzero(E[i]):
            found.setdefault(int(j), []).append({"text": posts[i]["text"], "timestamp": posts[i]["timestamp"],
                                                 "similarity": round(float(S[i, j]), 4)})
    return found
