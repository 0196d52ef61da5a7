"""The Hybrid's ablation claim (IJECE 2026, section 2.2): PTLM + BiLSTM + CNN beats ES1/ES2/ES3, measured.

    python bench/hybrid_ablation.py [--tasks nonclinical mental_health] [--seeds 0 1 2] [--epochs 1]
                                    [--max_length 64] [--output outputs/bench_hybrid_ablation.json]

For each RMHD task (`nonclinical`: r/depression vs 10 non-clinical subreddits; `mental_health`: r/depression vs the
16 other mental-health subreddits) and seed (a new stratified 70/15/15 split each, 39 positive test posts), it
trains the four variants with `train_hybrid` on the same split, the same seed and the same budget: full (PTLM +
BiLSTM + CNN), ES1 (PTLM only), ES2 (PTLM + BiLSTM), ES3 (PTLM + CNN); the best epoch is picked on validation F1
(the recipe's default). The two simple baselines (TF-IDF + logistic regression, mean MiniLM embedding + logistic
regression) are fitted on the same training split. On the test split it reports F1 (at 0.5), AUROC and AUPRC, and
for every other model the paired bootstrap interval (1,000 resamples of the test posts) of full - that model in
AUPRC. Across seeds: mean +- std and how many seeds' intervals exclude 0. Prints what it measured; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from accelerate import Accelerator
from transformers import AutoTokenizer

from depdetect.arguments import EvaluationArguments
from depdetect.baselines import CachedEmbedder, fit_baselines
from depdetect.hybrid.arguments import HybridArguments, HybridTrainingArguments
from depdetect.hybrid.data import load_rmhd
from depdetect.hybrid.recipe import build_dataloaders, predict_probabilities, train_hybrid
from depdetect.metrics import binary_metrics, bootstrap_intervals
from depdetect.utils import default_encoder_path, write_json

VARIANTS = {
    "full": {},
    "ES1 (PTLM)": {"use_bilstm": False, "use_cnn": False},
    "ES2 (PTLM + BiLSTM)": {"use_cnn": False},
    "ES3 (PTLM + CNN)": {"use_bilstm": False},
}


def paired_difference(a: np.ndarray, b: np.ndarray, y: np.ndarray, seed: int, resamples: int) -> dict:
    """AUPRC(a) - AUPRC(b) on the same posts, with its paired percentile bootstrap interval."""

    def diff(index):
        return {"d": binary_metrics(a[index], y[index])["auprc"] - binary_metrics(b[index], y[index])["auprc"]}

    everything = np.arange(len(y))
    return {"difference": diff(everything)["d"], "interval": bootstrap_intervals(diff, len(y), resamples, seed)["d"]}


def run_variant(data, overrides: dict, args, seed: int, workdir: str) -> dict:
    run_args = HybridArguments(  # the paper's recipe: no pooled path, every epoch run, best epoch on F1
        config={"max_length": args.max_length, "use_pooled_embedding": False, **overrides},
        training=HybridTrainingArguments(output_dir=workdir, num_epochs=args.epochs, seed=seed, checkpointing_steps=0,
                                         show_examples=0, overwrite_output_dir=True, early_stopping_patience=0,
                                         metric_for_best_model="f1"),
        evaluation=EvaluationArguments(bootstrap_resamples=0, baselines="none", plots=False),
    )
    start = time.perf_counter()
    result = train_hybrid(run_args, dataset=data)
    seconds = time.perf_counter() - start
    model = result.models["model"]
    tokenizer = AutoTokenizer.from_pretrained(default_encoder_path())
    loaders = build_dataloaders(data, tokenizer, args.max_length, 32, 64, seed)
    accelerator = Accelerator(cpu=True)
    probabilities, labels = predict_probabilities(model, accelerator.prepare(loaders["test"]), accelerator)
    return {"probabilities": probabilities[:, 1], "labels": labels, "seconds": seconds,
            "validation_auprc": [h.get("eval_auprc") for h in result.metrics["validation_history"]],
            "best_epoch": result.metrics["best_epoch"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["nonclinical", "mental_health"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=1, help="Epochs per variant (1 fits about an hour on 2 cores).")
    parser.add_argument("--max_length", type=int, default=64, help="Tokens per post.")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--output", default="outputs/bench_hybrid_ablation.json")
    args = parser.parse_args()

    embedder = CachedEmbedder()
    results: dict = {"args": vars(args), "runs": []}
    start = time.perf_counter()
    for task in args.tasks:
        for seed in args.seeds:
            data = load_rmhd(seed=seed, task=task)
            y = np.asarray(data["test"]["label"])
            scores = {}
            for name, overrides in VARIANTS.items():
                print(f"\n######## {task}, seed {seed}: {name}", flush=True)
                with tempfile.TemporaryDirectory() as workdir:
                    out = run_variant(data, overrides, args, seed, workdir)
                assert np.array_equal(out["labels"], y), "test order changed"
                scores[name] = out["probabilities"]
                results["runs"].append({"task": task, "seed": seed, "model": name, "seconds": out["seconds"],
                                        "validation_auprc": out["validation_auprc"], "best_epoch": out["best_epoch"],
                                        **binary_metrics(out["probabilities"], y)})
                print(f"{name}: {out['seconds']:.0f}s, test {results['runs'][-1]}", flush=True)
            baselines = fit_baselines([[t] for t in data["train"]["text"]], data["train"]["label"],
                                      [[t] for t in data["test"]["text"]], "classification", "all", embedder, seed)
            for name, values in baselines.items():
                scores[name] = values
                results["runs"].append({"task": task, "seed": seed, "model": name, **binary_metrics(values, y)})
            for name, values in scores.items():
                if name != "full":
                    results["runs"].append({"task": task, "seed": seed, "model": f"full - {name}",
                                            **paired_difference(scores["full"], values, y, seed, args.resamples)})
    results["minutes"] = (time.perf_counter() - start) / 60
    report(results, args)
    write_json(args.output, {**results, "runs": [{k: v for k, v in r.items()} for r in results["runs"]]})


def report(results: dict, args) -> None:
    runs = results["runs"]
    print(f"\n{len(args.seeds)} seeds x {len(args.tasks)} tasks, {args.epochs} epoch(s), {args.max_length} tokens, "
          f"{results['minutes']:.1f} min in all")
    for task in args.tasks:
        rows = [r for r in runs if r["task"] == task]
        print(f"\n### {task}\n\n| model | F1 | AUROC | AUPRC | s per run |\n|---|---|---|---|---|")
        for name in [*VARIANTS, "tfidf_logreg", "embedding_logreg"]:
            mine = [r for r in rows if r["model"] == name]
            cells = [f"{np.mean([r[k] for r in mine]):.3f} +- {np.std([r[k] for r in mine]):.3f}"
                     for k in ("f1", "auroc", "auprc")]
            seconds = f"{np.mean([r['seconds'] for r in mine]):.0f}" if "seconds" in mine[0] else "-"
            print(f"| {name} | " + " | ".join(cells) + f" | {seconds} |")
        print("\n| AUPRC difference | mean +- std over seeds | per seed [95% paired bootstrap] | seeds > 0 "
              "(interval) |\n|---|---|---|---|")
        for name in [n for n in [*VARIANTS, "tfidf_logreg", "embedding_logreg"] if n != "full"]:
            mine = [r for r in rows if r["model"] == f"full - {name}"]
            d = [r["difference"] for r in mine]
            per_seed = "; ".join(f"{r['difference']:+.3f} [{r['interval'][0]:+.3f}, {r['interval'][1]:+.3f}]"
                                 for r in mine)
            above = sum(r["interval"][0] > 0 for r in mine)
            below = sum(r["interval"][1] < 0 for r in mine)
            print(f"| full - {name} | {np.mean(d):+.3f} +- {np.std(d):.3f} | {per_seed} | {above} above 0, "
                  f"{below} below |")


if __name__ == "__main__":
    main()
