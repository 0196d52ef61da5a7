"""DORIS benchmark on the SIMULATED RMHD user cohort (real posts, simulated users; 1:19 prevalence).

    python bench/doris.py [--seeds 0 1 2] [--users 1000] [--cache /tmp/doris_bench_cache] [--memory_posts 100000]

Per seed (a new cohort each): DORIS (MiniLM embedder, offline embedding annotator, k=20, m=30), its ablations (w/o
DC, MC, PH), PH-only (mean post embedding + XGBoost), TF-IDF + XGBoost (a user's posts joined; same tree settings),
and a k sweep. Prints precision, recall, F1, AUROC, AUPRC as mean +- std over seeds. Cost: featurisation
throughput of DorisPipeline vs sentence-transformers' own `encode` on the same distinct posts in the same run; the
share of posts sent to the annotator; the peak memory (max RSS) of a separate process featurising and scoring a
cohort of about `--memory_posts` posts. Embeddings are cached in --cache, so each distinct post is embedded once
across all runs. Prints what it measured; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import xgboost as xgb
from sklearn.feature_extraction.text import TfidfVectorizer

from depdetect.doris.config import DorisConfig, default_xgboost_params
from depdetect.doris.data import rmhd_user_cohort
from depdetect.doris.pipeline import DorisPipeline
from depdetect.embedder import SentenceTransformerEmbedder
from depdetect.metrics import classification_metrics

METRICS = ("precision", "recall", "f1", "auroc", "auprc")


def doris_scores(train, test, embedder, cache, **config) -> tuple[dict, dict]:
    doris = DorisPipeline(DorisConfig(**config), embedder=embedder, cache_dir=cache).fit(train)
    stats = dict(doris.stats)
    return doris.evaluate(test), stats


def tfidf_scores(train, test, seed: int) -> dict:
    def joined(split):
        return [" ".join(p["text"] for p in u["posts"]) for u in split]

    vectorizer = TfidfVectorizer(max_features=20000, ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X_train, X_test = vectorizer.fit_transform(joined(train)), vectorizer.transform(joined(test))
    y = np.asarray(train["label"])
    params = default_xgboost_params()
    rounds = params.pop("n_estimators")
    params.update(objective="binary:logistic", seed=seed, eta=params.pop("learning_rate"),
                  scale_pos_weight=float((y == 0).sum() / (y == 1).sum()))
    booster = xgb.train(params, xgb.DMatrix(X_train, label=y), num_boost_round=rounds)
    p = booster.predict(xgb.DMatrix(X_test)).astype(float)
    return classification_metrics(np.stack([1 - p, p], axis=1), np.asarray(test["label"]))


def throughput(embedder, texts: list[str]) -> dict:
    """posts/s of sentence-transformers' encode and of DorisPipeline's embedding step, same posts, same run.

    Each runs on both halves of `texts` (in alternating order) and the rates are averaged, so text lengths cancel.
    """
    runners = {
        "sentence_transformers": lambda part: embedder.model.encode(
            part, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False),
        "doris": lambda part: DorisPipeline(DorisConfig(), embedder=embedder).embed(part),  # fresh: nothing cached
    }
    embedder.encode(texts[:64])  # warm-up
    half = len(texts) // 2
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for parts in ((texts[:half], texts[half:]), (texts[half:], texts[:half])):
        for (name, run), part in zip(runners.items(), parts):
            start = time.perf_counter()
            run(part)
            rates[name].append(len(part) / (time.perf_counter() - start))
    out = {name: float(np.mean(r)) for name, r in rates.items()}
    out["ratio"] = out["doris"] / out["sentence_transformers"]
    return out


def memory_run(args) -> None:
    """In its own process: featurise and score a cohort of about args.memory_posts posts; print peak RSS."""
    users = max(40, args.memory_posts // 25)
    cohort = rmhd_user_cohort(num_users=users, seed=99)
    embedder = SentenceTransformerEmbedder()
    doris = DorisPipeline(DorisConfig(), embedder=embedder, cache_dir=args.cache)
    start = time.perf_counter()
    doris.fit(cohort["train"])
    doris.predict_proba(cohort["test"])
    posts = doris.stats["posts"]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"users": users, "posts": posts, "peak_rss_gb": peak_gb,
                      "distinct_posts_embedded_now": doris.stats["posts_embedded"],
                      "seconds": time.perf_counter() - start}))


def summarize(runs: list[dict]) -> dict:
    return {m: (float(np.mean([r[m] for r in runs])), float(np.std([r[m] for r in runs]))) for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--cache", default="/tmp/doris_bench_cache")
    parser.add_argument("--ks", type=float, nargs="+", default=[0, 10, 20, 50, 100])
    parser.add_argument("--memory_posts", type=int, default=100_000)
    parser.add_argument("--memory_only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        return memory_run(args)
    embedder = SentenceTransformerEmbedder()
    cohorts = {seed: rmhd_user_cohort(num_users=args.users, seed=seed) for seed in args.seeds}
    first = cohorts[args.seeds[0]]
    distinct = list(dict.fromkeys(p["text"] for u in first["test"] for p in u["posts"]))[:1000]
    speed = throughput(embedder, distinct)
    print(f"featurisation throughput on {len(distinct)} distinct posts: sentence-transformers "
          f"{speed['sentence_transformers']:.1f} posts/s, DorisPipeline {speed['doris']:.1f} posts/s "
          f"(ratio {speed['ratio']:.2f})", flush=True)
    systems = {
        "DORIS (k=20, m=30)": {},
        "w/o DC": {"ablate": ["dc"]},
        "w/o MC": {"ablate": ["mc"]},
        "w/o PH": {"ablate": ["ph"]},
        "PH only (mean embedding + XGBoost)": {"ablate": ["dc", "mc"]},
        **{f"DORIS k={k:g}": {"k": k} for k in args.ks if k != 20},
    }
    results: dict[str, list] = {name: [] for name in [*systems, "TF-IDF + XGBoost"]}
    shares: dict[str, list] = {}
    start = time.perf_counter()
    for seed, cohort in cohorts.items():
        for name, config in systems.items():
            scores, stats = doris_scores(cohort["train"], cohort["test"], embedder, args.cache, seed=seed, **config)
            results[name].append(scores)
            shares.setdefault(name, []).append(stats["posts_annotated"] / stats["posts"])
        results["TF-IDF + XGBoost"].append(tfidf_scores(cohort["train"], cohort["test"], seed))
        print(f"seed {seed} done ({time.perf_counter() - start:.0f}s)", flush=True)
    tests = [sum(c["test"]["label"]) for c in cohorts.values()]
    print(f"\n{len(args.seeds)} seeds x {args.users} users; test users per seed: {len(first['test'])} "
          f"({tests} depressed)\n")
    print("| system | " + " | ".join(METRICS) + " | posts annotated |")
    print("|---|" + "---|" * (len(METRICS) + 1))
    for name, runs in results.items():
        s = summarize(runs)
        share = f"{100 * np.mean(shares[name]):.1f}%" if name in shares else "-"
        print(f"| {name} | " + " | ".join(f"{m:.3f} ± {sd:.3f}" for m, sd in s.values()) + f" | {share} |")
    out = subprocess.run([sys.executable, __file__, "--memory_only", "--cache", args.cache,
                          "--memory_posts", str(args.memory_posts)], capture_output=True, text=True, check=True)
    memory = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nmemory run: {memory['posts']} posts ({memory['users']} users), peak RSS {memory['peak_rss_gb']:.2f} GB, "
          f"{memory['distinct_posts_embedded_now']} distinct posts embedded in that process, {memory['seconds']:.0f}s")


if __name__ == "__main__":
    main()
