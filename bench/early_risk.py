"""Early risk detection on the SIMULATED RMHD user cohort (real posts, simulated timelines; 1:19 prevalence).

    python bench/early_risk.py run  [--seeds 0 1 2] [--users 1000] [--output outputs/bench_early_risk.json]
    python bench/early_risk.py cost [--histories 10 100 1000] [--output outputs/bench_early_cost.json]

`run`, per seed (a new cohort each, 700 / 100 / 200 users): each user's posts are read one at a time in date order.
Systems: DORIS streamed (MiniLM embedder, offline annotator, k=20, m=30, default trees; fitted on the training
users); the Hybrid aggregate (the Hybrid trained for 1 epoch on posts of the training users' pool only: r/depression
and r/suicidewatch vs 4x as many other posts, clinical share of the pool kept from leaking into validation/test;
its P(depression) per post aggregated as mean, max and share >= its threshold); TF-IDF + logistic regression
re-fitted on the training users' first k posts for every k. For every system and policy (min_posts, patience) the
threshold is chosen on the validation users (highest F_latency), then the test users are decided once. Reports
ERDE_5, ERDE_50, F_latency, latency_TP, F1 of the early decisions and AUPRC of the final (whole-history) score,
mean +- std over seeds. p of F_latency is derived from each split's own median posts per user.

`cost`: one DORIS fitted on the seed-0 cohort, loaded afresh for each history length (in-memory caches only); a user
with 10, 100 and 1,000 earlier posts (real RMHD posts, one a day); the time to add one new post (never seen before,
so it is embedded) to the running state, median over `--trials` new posts, against re-scoring the whole history
with `predict_proba` (warm: the history's embeddings cached, one new post embedded; cold: a fresh pipeline that
embeds everything), and the running state's memory.

Prints what it measured and writes JSON after every step; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from depdetect.doris.config import DorisConfig
from depdetect.doris.data import cohort_post_pool, rmhd_user_cohort
from depdetect.doris.pipeline import DorisPipeline
from depdetect.early.baselines import tfidf_prefix_trajectories
from depdetect.early.metrics import early_risk_metrics
from depdetect.early.policy import choose_early_policy
from depdetect.early.recipe import StreamingSystem
from depdetect.early.streams import HybridUserStream, PrecomputedScorer, run_stream
from depdetect.embedder import SentenceTransformerEmbedder
from depdetect.metrics import binary_metrics
from depdetect.utils import write_json

POLICIES = ((1, 1), (3, 2))  # (min_posts, patience)
REPORTED = ("erde_5", "erde_50", "f_latency", "latency_tp", "f1", "final_auprc")


def hybrid_posts_model(seed: int, workdir: str, epochs: int, negatives_per_positive: int):
    """The Hybrid trained on the cohort's training post pool only (clinical vs the rest, negatives subsampled)."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline
    from depdetect.arguments import EvaluationArguments
    from depdetect.hybrid.arguments import HybridArguments, HybridTrainingArguments
    from depdetect.hybrid.recipe import train_hybrid

    pool = cohort_post_pool(seed)
    rng = np.random.default_rng(seed)

    def split(part: int, negatives: int | None):
        rows = pool[pool["part"] == part]
        positive, negative = rows[rows["kind"] == "clinical"], rows[rows["kind"] != "clinical"]
        count = min(len(negative), negatives if negatives is not None else len(negative))
        negative = negative.iloc[rng.choice(len(negative), count, replace=False)]
        texts = [t.strip() for t in positive["post"]] + [t.strip() for t in negative["post"]]
        return Dataset.from_dict({"text": texts, "label": [1] * len(positive) + [0] * len(negative)},
                                 features=Features({"text": Value("string"),
                                                    "label": ClassLabel(names=["control", "depression"])}))

    train = split(0, negatives_per_positive * int((pool[pool["part"] == 0]["kind"] == "clinical").sum()))
    held = split(1, 4 * int((pool[pool["part"] == 1]["kind"] == "clinical").sum())).train_test_split(
        test_size=0.5, seed=seed, stratify_by_column="label")
    data = DatasetDict(train=train, validation=held["train"], test=held["test"])
    args = HybridArguments(
        training=HybridTrainingArguments(output_dir=workdir, num_epochs=epochs, seed=seed, checkpointing_steps=0,
                                         show_examples=0, overwrite_output_dir=True),
        evaluation=EvaluationArguments(bootstrap_resamples=0, baselines="none", plots=False),
    )
    start = time.perf_counter()
    result = train_hybrid(args, dataset=data)
    model = result.models["model"].eval()
    tokenizer = AutoTokenizer.from_pretrained(workdir)
    detector = DepressionDetectionPipeline(model=model, tokenizer=tokenizer, device="cpu")
    return detector, {"train_posts": len(train), "seconds": time.perf_counter() - start,
                      "post_test_auprc": result.metrics["test"]["auprc"]}


def decide(trajectories_val, trajectories_test, min_posts: int, patience: int) -> dict:
    policy, found = choose_early_policy(trajectories_val, min_posts, patience)
    decisions = [policy.decide(t) for t in trajectories_test]
    labels = [t.label for t in trajectories_test]
    out = early_risk_metrics([d.decision for d in decisions], [d.delay for d in decisions], labels,
                             num_posts=[t.num_posts for t in trajectories_test])
    out["final_auprc"] = binary_metrics([t.scores[-1] for t in trajectories_test], labels)["auprc"]
    out["threshold"] = policy.threshold
    out["validation_f_latency"] = found["f_latency"]
    return out


def run(args) -> None:
    embedder = SentenceTransformerEmbedder(None)
    results = {"args": vars(args), "rows": [], "seeds": {}}
    for seed in args.seeds:
        start = time.perf_counter()
        cohort = rmhd_user_cohort(num_users=args.users, seed=seed)
        train, val, test = (cohort[s].to_list() for s in ("train", "validation", "test"))
        info = {"users": {s: len(cohort[s]) for s in cohort}, "depressed": {s: int(sum(cohort[s]["label"]))
                                                                            for s in cohort},
                "median_posts_test": float(np.median([len(u["posts"]) for u in test]))}
        trajectories = {}
        t0 = time.perf_counter()
        doris = DorisPipeline(DorisConfig(seed=seed), embedder=embedder, cache_dir=args.cache).fit(cohort["train"])
        info["doris_fit_seconds"] = time.perf_counter() - t0
        system = StreamingSystem("doris", doris)
        t0 = time.perf_counter()
        runs = {name: system.run(users, 1, None, False) for name, users in (("val", val), ("test", test))}
        info["doris_stream_seconds"] = time.perf_counter() - t0
        info["doris_stream_steps"] = sum(len(r["trajectory"].scores) for rs in runs.values() for r in rs)
        trajectories["DORIS (streamed)"] = {k: [r["trajectory"] for r in v] for k, v in runs.items()}
        batch = doris.predict_proba(test)
        info["doris_final_vs_batch_max_abs_difference"] = float(np.abs(
            np.array([t.scores[-1] for t in trajectories["DORIS (streamed)"]["test"]]) - batch).max())
        print(f"seed {seed}: DORIS fitted in {info['doris_fit_seconds']:.0f}s, streamed {info['doris_stream_steps']} "
              f"steps in {info['doris_stream_seconds']:.0f}s; final vs batch max |diff| "
              f"{info['doris_final_vs_batch_max_abs_difference']:.2e}", flush=True)
        with tempfile.TemporaryDirectory() as workdir:
            detector, info["hybrid"] = hybrid_posts_model(seed, workdir, args.hybrid_epochs, args.negatives)
        texts = sorted({p["text"] for u in val + test for p in u["posts"]})
        t0 = time.perf_counter()
        probabilities = [o["probability"] for o in detector(texts, batch_size=64, explain=False)]
        info["hybrid"]["score_seconds"] = time.perf_counter() - t0
        scorer = PrecomputedScorer(texts, probabilities)
        threshold = float(detector.model.config.decision_threshold or 0.5)
        for aggregate in ("mean", "max", "share"):
            trajectories[f"Hybrid aggregate ({aggregate})"] = {
                k: [run_stream(HybridUserStream(scorer, aggregate, threshold, u["user_id"]), u)["trajectory"]
                    for u in users] for k, users in (("val", val), ("test", test))}
        print(f"seed {seed}: Hybrid trained on {info['hybrid']['train_posts']} posts in "
              f"{info['hybrid']['seconds']:.0f}s", flush=True)
        t0 = time.perf_counter()
        trajectories["TF-IDF + LR re-fitted per prefix"] = {
            k: tfidf_prefix_trajectories(train, users, seed=seed) for k, users in (("val", val), ("test", test))}
        info["tfidf_seconds"] = time.perf_counter() - t0
        for name, split in trajectories.items():
            for min_posts, patience in POLICIES:
                row = {"seed": seed, "system": name, "min_posts": min_posts, "patience": patience,
                       **decide(split["val"], split["test"], min_posts, patience)}
                results["rows"].append(row)
                print(f"seed {seed} {name} (min_posts {min_posts}, patience {patience}): "
                      + ", ".join(f"{k} {row[k]:.4f}" for k in REPORTED), flush=True)
        info["seconds"] = time.perf_counter() - start
        results["seeds"][str(seed)] = info
        write_json(args.output, results)
    report(results)


def trivial_rows(seed: int, users: int) -> list[dict]:
    """The two decisions that need no model, on the same test users: flag nobody, flag everyone at the first post
    (what ERDE and F_latency give for them is the floor a system has to beat on this collection)."""
    test = rmhd_user_cohort(num_users=users, seed=seed)["test"]
    labels = np.asarray(test["label"])
    num_posts = [len(p) for p in test["posts"]]
    out = []
    for name, decision in (("nobody flagged (no model)", 0), ("everyone flagged at the first post (no model)", 1)):
        row = early_risk_metrics(np.full(labels.size, decision), np.ones(labels.size, dtype=int), labels,
                                 num_posts=num_posts)
        out.append({"seed": seed, "system": name, "min_posts": 1, "patience": 1, **row, "final_auprc": float("nan")})
    return out


def report(results: dict) -> None:
    rows = list(results["rows"])
    for seed in sorted({r["seed"] for r in rows}):
        rows += trivial_rows(seed, results["args"]["users"])
    seeds = sorted({r["seed"] for r in rows})
    print(f"\n{len(seeds)} seeds; test users, thresholds chosen on validation users (highest F_latency)")
    print("| system | min_posts, patience | " + " | ".join(REPORTED) + " |")
    print("|---|---|" + "---|" * len(REPORTED))
    keys = list(dict.fromkeys((r["system"], r["min_posts"], r["patience"]) for r in rows))
    for system, min_posts, patience in keys:
        chosen = [r for r in rows if (r["system"], r["min_posts"], r["patience"]) == (system, min_posts, patience)]
        cells = []
        for key in REPORTED:
            values = np.array([r[key] for r in chosen], dtype=float)
            values = values[~np.isnan(values)]
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}" + (f" (n={values.size})" if values.size <
                                                                        len(chosen) else "") if values.size else "n/a")
        print(f"| {system} | {min_posts}, {patience} | " + " | ".join(cells) + " |")


def cost(args) -> None:
    embedder = SentenceTransformerEmbedder(None)
    cohort = rmhd_user_cohort(num_users=args.users, seed=0)
    fitted = DorisPipeline(DorisConfig(seed=0), embedder=embedder, cache_dir=args.cache).fit(cohort["train"])
    with tempfile.TemporaryDirectory() as saved:
        fitted.save_pretrained(saved)
        measure_costs(args, embedder, saved)


def measure_costs(args, embedder, saved: str) -> None:
    """The cost rows of `cost` for the DORIS saved in `saved`."""
    import pandas as pd

    from depdetect.data import rmhd_csv_path

    frame = pd.read_csv(rmhd_csv_path(), usecols=["post"])
    posts = [p.strip() for p in frame["post"].fillna("") if p.strip()]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(posts))
    results = {"args": vars(args), "rows": []}
    for number, size in enumerate(args.histories):
        doris = DorisPipeline.from_pretrained(saved, embedder=embedder)  # in-memory caches only: nothing from disk
        history = [{"text": posts[i], "timestamp": (date(2000, 1, 1) + timedelta(days=d)).isoformat()}
                   for d, i in enumerate(order[:size])]  # one post a day
        first = max(args.histories) + number * args.trials  # new posts, different for every size
        fresh = [posts[i] for i in order[first : first + args.trials]]
        stream = doris.stream("cost")
        doris.prefetch([{"user_id": "cost", "posts": history}])
        stream.add(history)  # the running state after `size` posts (one chunk: quick to build)
        state = stream.state_bytes()
        add_times, rescore_warm = [], []
        for text in fresh:  # each a post neither path has embedded before
            t0 = time.perf_counter()
            stream.add({"text": text, "timestamp": "2099-01-01"})
            add_times.append(time.perf_counter() - t0)
            user = {"user_id": "cost", "posts": history + [{"text": text + " (re-scored)", "timestamp": "2099-01-01"}]}
            t0 = time.perf_counter()
            doris.predict_proba(user)
            rescore_warm.append(time.perf_counter() - t0)
        cold = DorisPipeline.from_pretrained(saved, embedder=embedder)  # empty caches: embeds everything
        t0 = time.perf_counter()
        cold.predict_proba({"user_id": "cost", "posts": history + [{"text": fresh[0] + " (cold)",
                                                                     "timestamp": "2099-01-01"}]})
        rescore_cold = time.perf_counter() - t0
        row = {"history": size, "add_one_post_median_s": float(np.median(add_times)),
               "add_one_post_p90_s": float(np.percentile(add_times, 90)),
               "rescore_warm_median_s": float(np.median(rescore_warm)), "rescore_cold_s": rescore_cold,
               "state_fixed_bytes": state["fixed"], "state_posts_kept_bytes": state["posts_kept"],
               "state_mood_posts": state["mood_posts"], "state_symptom_posts": state["symptom_posts"],
               "trials": len(fresh)}
        results["rows"].append(row)
        print(json.dumps(row), flush=True)
        write_json(args.output, results)
    rows = {r["history"]: r for r in results["rows"]}
    if 10 in rows and 1000 in rows:
        results["ratio_1000_vs_10"] = {
            "streamed": rows[1000]["add_one_post_median_s"] / rows[10]["add_one_post_median_s"],
            "rescore_warm": rows[1000]["rescore_warm_median_s"] / rows[10]["rescore_warm_median_s"],
            "rescore_cold": rows[1000]["rescore_cold_s"] / rows[10]["rescore_cold_s"]}
        print("ratio 1,000 vs 10 earlier posts:", json.dumps(results["ratio_1000_vs_10"]))
        write_json(args.output, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("run", "cost", "report"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--hybrid_epochs", type=int, default=1)
    parser.add_argument("--negatives", type=int, default=4, help="Non-clinical training posts per clinical one.")
    parser.add_argument("--histories", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "doris_bench_cache"),
                        help="DORIS's embedding cache (shared with bench/doris.py).")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    args.output = args.output or f"outputs/bench_early_{'cost' if args.mode == 'cost' else 'risk'}.json"
    if args.mode == "report":
        report(json.loads(Path(args.output).read_text()))
    elif args.mode == "run":
        run(args)
    else:
        cost(args)


if __name__ == "__main__":
    sys.exit(main())
