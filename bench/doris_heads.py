"""DORIS on small cohorts: the paper's trees, a regularised logistic regression, and `auto`, against the baselines.

    python bench/doris_heads.py [--cohorts 300:0 300:1 300:2 1000:42 1000:0 1000:1] [--cache /tmp/doris_bench_cache]

Per SIMULATED RMHD cohort (`rmhd_user_cohort(users, seed)`: real posts, simulated users, 1:19 prevalence; 1000:42 is
the developers' cohort, the default of `depdetect train doris`; the others are new seeds), DORIS (MiniLM embedder,
offline annotator, k=20, m=30) is fitted on the training users with each head (`DorisConfig.head`): `trees` (the
paper's, 300 trees), `logistic` (L2 logistic regression on standardised features, C by inner CV) and `auto` (the
default: whichever has the higher AUPRC over 5 folds of the training users). The two baselines (TF-IDF + LR, mean
MiniLM embedding + LR over each user's posts; depdetect's `fit_baselines`) are fitted on the same users. On the test
users: AUPRC and AUROC of each, and the paired bootstrap interval (1,000 resamples of the test users) of each head
minus the embedding baseline. The uncalibrated scores are compared (calibration does not change a ranking). Prints
what it measured; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hybrid_ablation import paired_difference  # noqa: E402

from depdetect.baselines import CachedEmbedder, fit_baselines  # noqa: E402
from depdetect.doris.config import DorisConfig  # noqa: E402
from depdetect.doris.data import rmhd_user_cohort  # noqa: E402
from depdetect.doris.pipeline import DorisPipeline  # noqa: E402
from depdetect.doris.recipe import post_texts  # noqa: E402
from depdetect.embedder import SentenceTransformerEmbedder  # noqa: E402
from depdetect.metrics import binary_metrics  # noqa: E402

HEADS = ("trees", "logistic", "auto")


def one_cohort(users: int, seed: int, embedder, cache: str, resamples: int) -> dict:
    cohort = rmhd_user_cohort(num_users=users, seed=seed)
    y = np.asarray(cohort["test"]["label"])
    scores, chosen = {}, None
    for head in HEADS:
        pipeline = DorisPipeline(DorisConfig(head=head, seed=seed), embedder=embedder, cache_dir=cache)
        pipeline.fit(cohort["train"])
        scores[head] = pipeline.predict_proba(cohort["test"], calibrated=False)
        if head == "auto":
            chosen = pipeline.config.head_selection
    doris_embed = DorisPipeline(DorisConfig(seed=seed), embedder=embedder, cache_dir=cache).embed
    baselines = fit_baselines(post_texts(cohort["train"]), cohort["train"]["label"], post_texts(cohort["test"]),
                              which="all", embedder=CachedEmbedder(doris_embed), seed=seed)
    scores.update(baselines)
    return {
        "users": users, "seed": seed,
        "depressed": {split: int(sum(ds["label"])) for split, ds in cohort.items()},
        "metrics": {name: binary_metrics(p, y) for name, p in scores.items()},
        "chosen": chosen["chosen"], "cv_auprc": chosen["cv_auprc"],
        "minus_embedding": {name: paired_difference(scores[name], scores["embedding_logreg"], y, seed, resamples)
                            for name in HEADS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=["300:0", "300:1", "300:2", "1000:42", "1000:0", "1000:1"],
                        help="USERS:SEED per cohort.")
    parser.add_argument("--cache", default="/tmp/doris_bench_cache")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    start, rows = time.perf_counter(), []
    for spec in args.cohorts:
        users, seed = (int(part) for part in spec.split(":"))
        rows.append(one_cohort(users, seed, embedder, args.cache, args.resamples))
        print(f"cohort {spec} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{len(rows)} cohorts, {(time.perf_counter() - start) / 60:.1f} min\n")
    print("| cohort (users:seed) | depressed train/val/test | trees | logistic | auto (chosen; CV AUPRC trees / "
          "logistic) | TF-IDF + LR | embedding + LR | auto - embedding [95% paired] |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        m, d = r["metrics"], r["depressed"]
        gain = r["minus_embedding"]["auto"]
        print(f"| {r['users']}:{r['seed']} | {d['train']}/{d['validation']}/{d['test']} | "
              f"{m['trees']['auprc']:.3f} | {m['logistic']['auprc']:.3f} | {m['auto']['auprc']:.3f} ({r['chosen']}; "
              f"{r['cv_auprc']['trees']:.3f} / {r['cv_auprc']['logistic']:.3f}) | {m['tfidf_logreg']['auprc']:.3f} | "
              f"{m['embedding_logreg']['auprc']:.3f} | {gain['difference']:+.3f} [{gain['interval'][0]:+.3f}, "
              f"{gain['interval'][1]:+.3f}] |")
    print("\n| head | mean AUPRC | mean AUROC | mean minus embedding + LR | cohorts above 0 / below 0 (interval) |")
    print("|---|---|---|---|---|")
    for name in (*HEADS, "tfidf_logreg", "embedding_logreg"):
        auprc = np.mean([r["metrics"][name]["auprc"] for r in rows])
        auroc = np.mean([r["metrics"][name]["auroc"] for r in rows])
        if name in HEADS:
            gains = [r["minus_embedding"][name] for r in rows]
            above = sum(g["interval"][0] > 0 for g in gains)
            below = sum(g["interval"][1] < 0 for g in gains)
            extra = f"{np.mean([g['difference'] for g in gains]):+.3f} | {above} / {below}"
        else:
            extra = "- | -"
        print(f"| {name} | {auprc:.3f} | {auroc:.3f} | {extra} |")


if __name__ == "__main__":
    main()
