"""DorisPipeline: fit, predict, explain, evaluate, save and load DORIS (arXiv 2403.10750).

    from depdetect import DorisConfig, DorisPipeline
    doris = DorisPipeline(DorisConfig(k=20, m=30)).fit(train_users)    # users schema: user_id, posts, label
    doris.predict_proba(test_users); doris.explain(test_users[0]); doris.evaluate(test_users)
    doris.save_pretrained("outputs/doris"); DorisPipeline.from_pretrained("outputs/doris")
    depdetect.push_to_hub(doris, "your-name/depdetect-doris", metrics=...)   # publishing lives in depdetect.hub

Work is split across Accelerate processes when launched with `accelerate launch`/`torchrun` (embedding,
annotation and summaries via `split_between_processes`, results gathered), and cached on disk when `cache_dir`
is given, so a killed run resumes without redoing finished annotations.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..calibration import calibrate
from ..metrics import classification_metrics
from ..utils import saved_versions, write_files, write_json, write_text
from .annotators import EmbeddingAnnotator, make_annotator, offline_explanation, offline_summary
from .cache import AnswerCache, EmbeddingCache, cache_key
from .config import CONFIG_NAME, DorisConfig
from .data import check_user, parse_timestamp
from .features import feature_names, normalize_rows, risk_scores, top_percent_cutoff, user_features

logger = logging.getLogger(__name__)

BOOSTER_NAME = "xgboost_model.json"
#: texts embedded per step (bounds memory and cache appends; one progress-bar update each)
EMBED_CHUNK = 1024
#: fewest training users of each class DORIS fits on (fewer give trees and cut-offs that mean nothing)
MIN_USERS_PER_CLASS = 5


class LRUStore(OrderedDict):
    """A dict that keeps at most `size` entries, dropping the least recently used (the in-memory cache of a
    pipeline without `cache_dir`: a long-running process does not keep every text it ever saw)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def _as_users(users) -> list[dict]:
    if isinstance(users, dict):
        return [users]
    if hasattr(users, "to_list"):  # a datasets.Dataset
        return users.to_list()
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
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._state = state
        self.batch_size = batch_size
        if memory_size < 1:
            raise ValueError(f"`memory_size` must be >= 1, got {memory_size}.")
        self.memory_size = memory_size
        self.booster = None
        self.stats: Counter = Counter()
        self._folder: Path | None = None  # the folder from_pretrained read (saved paths resolve only inside it)
        self._memory: LRUStore = LRUStore(memory_size)
        self._embedding_cache = None
        self._answer_caches: dict[str, AnswerCache] = {}
        self._templates = None

    # -- plumbing ---------------------------------------------------------------------------------------------

    @property
    def state(self):
        """The given Accelerate state, else the process-wide PartialState (looked up each time, never kept)."""
        if self._state is not None:
            return self._state
        from accelerate import PartialState

        return PartialState()

    def _get_embedder(self):
        if self.embedder is None:
            from .embedder import load_embedder, resolve_saved_embedder

            if self._folder is not None:  # a loaded pipeline: its saved name is resolved safely
                self.embedder = resolve_saved_embedder(self.config.embedder, self._folder)
            else:
                self.embedder = load_embedder(self.config.embedder)
        return self.embedder

    def _split(self, items: list, work) -> list:
        """Run `work(items_part) -> list` on each process's share of `items`; every process gets all results."""
        state = self.state
        if state.num_processes == 1:
            return work(items)
        from accelerate.utils import gather_object

        with state.split_between_processes(items) as part:
            done = work(list(part))
        return gather_object([done])  # one list per process, in process order

    def _gathered(self, items: list, work) -> list:
        parts = self._split(items, work)
        if self.state.num_processes == 1:
            return parts
        return [x for part in parts for x in part]

    def _answers(self, kind: str) -> AnswerCache | dict:
        """The answer store of one kind: a disk cache with `cache_dir`, else a dict for this object's lifetime."""
        self._open_caches()
        return self._answer_caches.setdefault(kind, LRUStore(self.memory_size))

    def _embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings of `texts`, each distinct text embedded once (and cached)."""
        embedder = self._get_embedder()
        self._open_caches()
        store = self._embedding_cache
        keys = [cache_key(embedder.identifier, t) for t in texts]
        found: dict[str, np.ndarray] = {}  # this call's rows (the LRU store may drop some before they are read)
        for key in keys:
            if key not in found:
                row = store.get(key) if store is not None and key in store else self._memory.get(key)
                if row is not None:
                    found[key] = row
        missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts) if k not in found))

        def work(part):
            rows = np.asarray(embedder.encode([t for _, t in part]), dtype=np.float32)
            if rows.shape != (len(part), embedder.dimension):
                raise ValueError(f"The embedder returned shape {rows.shape} for {len(part)} texts.")
            bad = ~np.isfinite(rows).all(axis=1)
            if bad.any():  # checked before caching, so a broken run leaves nothing bad on disk
                raise ValueError(
                    f"The embedder returned NaN or infinite values for {int(bad.sum())} of {len(part)} texts; "
                    "check the embedding model (and its dtype) before fitting."
                )
            rows = normalize_rows(rows)
            if store is not None and part:
                store.put_many([k for k, _ in part], rows)
            return list(zip([k for k, _ in part], rows))

        for start in self._progress(range(0, len(missing), EMBED_CHUNK), len(missing), "embedding", EMBED_CHUNK):
            done = self._gathered(missing[start : start + EMBED_CHUNK], work)
            found.update(done)
            if store is not None:
                store.remember(done)  # rows other processes computed: known here too, written by them
            else:
                for key, row in done:
                    self._memory[key] = row
        self.stats["posts_embedded"] += len(missing)
        out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out

    def _open_caches(self) -> None:
        """Open the disk caches once, on every process, before any process writes to them (else the processes
        could see different cached sets and split different work lists)."""
        if self.cache_dir is None or self._embedding_cache is not None:
            return
        embedder = self._get_embedder()
        self._embedding_cache = EmbeddingCache(self.cache_dir, embedder.identifier, embedder.dimension)
        for kind in ("annotations", "summaries", "explanations"):
            self._answer_caches[kind] = AnswerCache(self.cache_dir, kind)
        self.state.wait_for_everyone()

    def _progress(self, steps, total: int, what: str, per_step: int):
        """Progress over `total` items in steps of `per_step`, shown on the main process (stderr) when long."""
        bar = tqdm(total=total, desc=what, unit="post", leave=False,
                   disable=not self.state.is_main_process or total < 2 * per_step)
        for step in steps:
            yield step
            bar.update(min(per_step, total - bar.n))
        bar.close()

    def _template_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        if self._templates is None:
            symptoms = self._embed([s["template"] for s in self.config.symptoms])
            emotions = self._embed([e["template"] for e in self.config.emotions])
            self._templates = (symptoms, emotions)
        return self._templates

    def _llm_key(self, prompt_kind: str, payload: str) -> str:
        a = self.annotator
        return cache_key(a.backend, a.model, self.config.prompt_versions[prompt_kind], payload)

    def _annotate(self, texts: list[str], similarity: np.ndarray) -> list[list[str] | None]:
        """Symptom codes per text (None: unreadable answer); LLM answers cached per text as they arrive."""
        a = self.annotator
        if not a.uses_llm:
            return a.annotate(texts, similarity)
        keys = [self._llm_key("annotate", t) for t in texts]
        return self._cached("annotations", keys, texts, lambda batch: a.annotate(batch, None), self.batch_size)

    def _summarize(self, post_lists: list[list[dict]]) -> list[str]:
        a = self.annotator
        if not a.uses_llm:
            return [a.summarize(posts) for posts in post_lists]
        keys = [self._llm_key("mood_course", json.dumps(posts, sort_keys=True)) for posts in post_lists]
        answers = self._cached("summaries", keys, post_lists, lambda batch: [a.summarize(p) for p in batch], 1)
        out = []
        for posts, answer in zip(post_lists, answers):
            if answer is None:  # unreadable after retries: the offline summary stands in (and nothing is cached)
                self.stats["unparseable_summaries"] += 1
                answer = offline_summary(posts)
            out.append(answer)
        return out

    def _cached(self, kind: str, keys: list[str], items: list, answer, batch_size: int) -> list:
        """Answers for `items` from the `kind` cache; the missing ones (each distinct key once) are computed by
        `answer(batch) -> list` across the processes, `batch_size` at a time, each batch cached as it arrives.
        Only answers that parsed are cached: None (unreadable) is returned for this call and asked again next
        time, so a transient fault (a proxy's error pages) never poisons the cache."""
        cache = self._answers(kind)
        results = {}
        for key in keys:
            if key in cache:
                results[key] = cache.get(key)
        todo = list({k: item for k, item in zip(keys, items) if k not in results}.items())

        def work(part):
            done = []
            for start in self._progress(range(0, len(part), batch_size), len(part), kind, batch_size):
                batch = part[start : start + batch_size]
                for (key, _), value in zip(batch, answer([item for _, item in batch])):
                    if value is not None:
                        _store(cache, key, value)
                    done.append((key, value))
            return done

        for key, value in self._gathered(todo, work):
            results[key] = value
            if value is not None:
                _remember(cache, key, value)
        return [results[k] for k in keys]

    # -- the method -------------------------------------------------------------------------------------------

    def _featurize(self, users: list[dict], fit: bool = False, details: bool = False):
        """Feature matrix (U, D) for validated users; with `details`, what explain() reports per user."""
        cfg = self.config
        users = [check_user(u, f"users[{i}]") for i, u in enumerate(users)]
        if not users:
            raise ValueError("No users given.")
        texts = [p["text"] for u in users for p in u["posts"]]
        offsets = np.cumsum([0] + [len(u["posts"]) for u in users])
        H = self._embed(texts)  # (N, d)
        symptom_emb, emotion_emb = self._template_embeddings()
        S = H @ symptom_emb.T  # (N, 9) cosine similarity to the symptom templates
        Em = H @ emotion_emb.T  # (N, 5) ... to the emotion templates
        risk = risk_scores(S)  # (N,)
        if fit:
            cfg.risk_cutoff = top_percent_cutoff(risk, cfg.k)
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
        elif not cfg.fitted:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        codes = [s["code"] for s in cfg.symptoms]
        selected = np.flatnonzero(risk >= cfg.risk_cutoff)
        if "dc" in cfg.ablate and not details:
            selected = selected[:0]  # no DC feature: nothing to annotate (explain() still annotates)
        E = np.zeros((len(texts), len(codes)), dtype=np.float32)  # (N, 9) E_p, zero for unannotated posts
        answers = self._annotate([texts[i] for i in selected], S[selected])
        unreadable = 0
        for i, answer in zip(selected, answers):
            if answer is None:
                unreadable += 1
                continue
            E[i, [codes.index(c) for c in answer]] = 1.0
        self.stats["posts"] += len(texts)
        self.stats["posts_annotated"] += len(selected)
        self.stats["unparseable_answers"] += unreadable
        cleared = Em >= np.asarray(cfg.emotion_cutoffs)  # (N, 5)
        emotional = cleared.any(axis=1)  # (N,) P_E membership
        dominant = np.where(cleared, Em, -np.inf).argmax(axis=1)
        need_mood = "mc" not in cfg.ablate or details
        orders, mood_posts = [], []
        for u, user in enumerate(users):
            order = _time_order(user["posts"])
            orders.append(order)
            base = offsets[u]
            mood_posts.append([
                {"text": user["posts"][i]["text"], "timestamp": user["posts"][i]["timestamp"],
                 "emotion": cfg.emotions[int(dominant[base + i])]["name"]}
                for i in order if emotional[base + i]
            ])
        summaries = self._summarize(mood_posts) if need_mood else [None] * len(users)
        mood_emb = self._embed(summaries) if "mc" not in cfg.ablate else [None] * len(users)
        X = np.stack([
            user_features(H[offsets[u] : offsets[u + 1]], E[offsets[u] : offsets[u + 1]],
                          emotional[offsets[u] : offsets[u + 1]], mood_emb[u], cfg.ablate)
            for u in range(len(users))
        ])  # (U, D)
        if not np.isfinite(X).all():
            raise ValueError("Some user features are NaN or infinite; check the embedder's output.")
        if not details:
            return X, users
        info = []
        for u, user in enumerate(users):
            base = offsets[u]
            symptom_posts = {}
            for i in orders[u]:
                for j in np.flatnonzero(E[base + i]):
                    post = user["posts"][i]
                    symptom_posts.setdefault(int(j), []).append({"text": post["text"], "timestamp": post["timestamp"]})
            info.append({"symptom_posts": symptom_posts, "mood_course": summaries[u], "order": orders[u],
                         "mood_posts": mood_posts[u],
                         "annotated": E[base : offsets[u + 1]]})
        return X, users, info

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
        """Fit the cut-offs, the annotator and the trees on training users (labels from `users` when None)."""
        import xgboost as xgb

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
        X, _ = self._featurize(users, fit=True)
        params = dict(self.config.xgboost)
        rounds = int(params.pop("n_estimators", 300))
        if params.get("scale_pos_weight") == "balanced":
            params["scale_pos_weight"] = float((y == 0).sum() / max(1, (y == 1).sum()))
        params.update({"objective": "binary:logistic", "eval_metric": "aucpr", "seed": self.config.seed,
                       "eta": params.pop("learning_rate", 0.05)})
        train = xgb.DMatrix(X, label=y, feature_names=self.config.feature_names)
        self.booster = xgb.train(params, train, num_boost_round=rounds)
        self.config.versions = saved_versions("xgboost", "sentence-transformers")
        return self

    def predict_proba(self, users, calibrated: bool = True) -> np.ndarray:
        """P(depression) per user, shape (U,): calibrated with the saved calibration (Platt scaling fitted on
        validation) unless `calibrated=False`."""
        import xgboost as xgb

        if self.booster is None:
            raise RuntimeError("This DORIS pipeline is not fitted: call fit(train_users) or from_pretrained(folder).")
        X, _ = self._featurize(_as_users(users))
        p = self.booster.predict(xgb.DMatrix(X, feature_names=self.config.feature_names)).astype(np.float64)
        return self.calibrate(p) if calibrated else p

    def calibrate(self, p) -> np.ndarray:
        """The saved calibration applied to the trees' P(depression) (identity when none was fitted)."""
        return calibrate(p, self.config.calibration or None)

    def predict(self, users) -> np.ndarray:
        return (self.predict_proba(users) >= self.config.threshold).astype(int)

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
        X, _, infos = self._featurize(_as_users(users), details=True)
        raw = self.booster.predict(xgb.DMatrix(X, feature_names=self.config.feature_names)).astype(np.float64)
        out = [self._explained(info, float(p)) for info, p in zip(infos, self.calibrate(raw))]
        if return_uncalibrated:
            for row, r in zip(out, raw):
                row["uncalibrated_probability"] = float(r)
        return out

    def _explained(self, info: dict, probability: float) -> dict:
        depressed = probability >= self.config.threshold
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
        }

    def _explanation(self, mood_course: str, symptom_posts: list[dict], depressed: bool, probability: float) -> str:
        a = self.annotator
        if not a.uses_llm:
            return a.explain(mood_course, symptom_posts, depressed, probability)
        cache = self._answers("explanations")
        key = self._llm_key("explain", json.dumps([mood_course, symptom_posts, depressed], sort_keys=True))
        if key in cache:
            return cache.get(key)
        answer = a.explain(mood_course, symptom_posts, depressed, probability)
        if answer is None:  # unreadable after retries: the offline explanation, not cached
            self.stats["unparseable_explanations"] += 1
            return offline_explanation(mood_course, symptom_posts, depressed, probability)
        _store(cache, key, answer)
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
        self._embed([p["text"] for u in users for p in u["posts"]])

    def evaluate(self, users, labels=None) -> dict:
        """Precision, recall, F1 (threshold `config.threshold`), AUROC and AUPRC of the depressed class."""
        users = _as_users(users)
        y = self._labels(users, labels)
        p = self.predict_proba(users)
        return classification_metrics(np.stack([1 - p, p], axis=1), y, threshold=self.config.threshold)

    # -- persistence --------------------------------------------------------------------------------------------

    def save_pretrained(self, folder: str | Path, metrics: dict | None = None, card=None,
                        include_embedder: bool = False, extra_files: dict[str, bytes] | None = None) -> Path:
        """Write `doris_config.json` and the trees in XGBoost's JSON format (`xgboost_model.json`); no pickle.

        Every file is first written beside its final name; only when all are written are they renamed into place,
        so a failure (a full disk) leaves a previously saved pipeline in `folder` whole and loadable. `metrics`
        (written as metrics.json) get the hashes of the config and trees they describe; `card(config, metrics)`
        gives the README.md text written with them. `include_embedder` copies a local sentence-transformers
        embedder into the folder (under the name the config records), so the folder loads anywhere on its own.
        `extra_files` ({relative path: bytes}) are written too (the plots).
        """
        if self.booster is None:
            raise RuntimeError("Nothing to save: fit the pipeline first.")
        from ..runs import artifact_hashes, saving_folder

        folder = Path(folder)
        with saving_folder(folder) as tmp:
            self.config.to_json_file(tmp / CONFIG_NAME)
            write_files(tmp, extra_files)
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
        for name in (CONFIG_NAME, BOOSTER_NAME):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder} is not a saved DORIS pipeline: {name} is missing.")
        try:
            config = DorisConfig.from_json_file(folder / CONFIG_NAME)
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            raise ValueError(f"{folder / CONFIG_NAME} is not a readable DORIS config ({err}).") from err
        if annotator is None or annotator == "embedding":
            annotator = offline_annotator(config)
        pipeline = cls(config, embedder=embedder, annotator=annotator, **kwargs)
        pipeline._folder = folder
        pipeline.booster = xgb.Booster()
        try:
            pipeline.booster.load_model(str(folder / BOOSTER_NAME))
        except xgb.core.XGBoostError as err:
            raise ValueError(f"{folder / BOOSTER_NAME} is not a readable XGBoost model ({str(err)[:200]}).") from err
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


def _store(cache: AnswerCache | dict, key: str, value) -> None:
    """Keep an answer this process produced (appended to its disk file when there is one)."""
    if isinstance(cache, AnswerCache):
        cache.put(key, value)
    else:
        cache[key] = value


def _remember(cache: AnswerCache | dict, key: str, value) -> None:
    """Know an answer gathered from any process (its own process already wrote it to disk)."""
    if isinstance(cache, AnswerCache):
        cache.remember(key, value)
    else:
        cache[key] = value


__all__ = ["BOOSTER_NAME", "DorisPipeline"]
