"""Explanations you can check (issue 24): the dual encoder's and DORIS's explanation methods against what is known.

    python bench/explanations.py interviews [--interviews 300] [--epochs 4] [--max_length 64] [--samples 200]
    python bench/explanations.py users DORIS_FOLDER [--cohort_users 1000] [--seed 42] [--samples 200]

`interviews`: SIMULATED interviews with known deciding turns (depdetect.dual_encoder.simulated; seed 0, the first of
5 folds of `--interviews`), a donor trained `--epochs` epochs at learning rate 3e-3 (bench/mhim.py's fair control).
On its test interviews: the faithfulness of attention and of leave-one-turn-out occlusion (ERASER measures on the
size of the severity change, depdetect.faithfulness), and the Recall@10/30/50% of each against the importance
labels, beside chance and the untrained ranking by similarity to DORIS's symptom templates.

`users`: a saved DORIS folder and the test users of the simulated cohort it was trained on (`depdetect train doris`
defaults: 1,000 users, seed 42): the faithfulness of the cited evidence against leave-one-post-out occlusion (on a
sample of the test users, and on all those DORIS flags as depressed, whose decision the symptoms explain), the
similarity of the cited evidence posts to their symptom's description, how many stay cited at stricter per-symptom
cut-offs (the training posts' 98th and 99th percentiles instead of the 95th), and what the offline annotator cites
for the two posts issue 24 quoted ("Started a new job today, nervous but excited", "Skipped dinner again, not
hungry") in a made-up history.

Both print what they measured and write it as JSON (`--output`); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from depdetect import systems
from depdetect.faithfulness import faithfulness_table, measure_faithfulness
from depdetect.metrics import recall_at_k
from depdetect.utils import write_json

KS = (0.1, 0.3, 0.5)


def interviews(args) -> dict:
    from mhim import chance_recall, run_args, template_recall

    from depdetect.baselines import CachedEmbedder
    from depdetect.doris.templates import SYMPTOMS
    from depdetect.dual_encoder.predictor import attributions, check_record, load_predictor
    from depdetect.dual_encoder.recipe import train_dual_encoder
    from depdetect.dual_encoder.simulated import rmhd_interview_folds

    _, fold = next(iter(rmhd_interview_folds(5, args.interviews, 0)))
    print({name: len(split) for name, split in fold.items()}, flush=True)
    settings = run_args(argparse.Namespace(task="explanations", max_length=args.max_length,
                                           learning_rate=args.learning_rate), 0, args.epochs, mhim=False)
    settings.training.output_dir = args.work_dir
    settings.training.overwrite_output_dir = True
    settings.evaluation.faithfulness = settings.evaluation.audit = False  # measured below, with intervals
    started = time.perf_counter()
    train_dual_encoder(settings, dataset=fold)
    trained = time.perf_counter() - started
    predictor = load_predictor(Path(args.work_dir) / "donor")
    records = [check_record(row, f"test {i}", True) for i, row in enumerate(fold["test"])]
    spec = systems.get("dual_encoder")
    summary = measure_faithfulness(spec, spec.load("predictor"), predictor, records, args.samples)
    print(faithfulness_table(summary, "dual encoder on SIMULATED test interviews"))
    importance = [np.array([t["importance"] for t in r["turns"]]) for r in records]
    recall = {}
    for method in spec.explanations:
        weights = [np.asarray(w) for w in attributions(predictor, records, method)]
        recall[method] = {f"recall@{k:.0%}": recall_at_k(weights, importance, k)[0] for k in KS}
    recall["chance"] = {f"recall@{k:.0%}": chance_recall(importance, k) for k in KS}
    embedder = CachedEmbedder()
    templates = embedder([s["template"] for s in SYMPTOMS])
    templates = templates / np.linalg.norm(templates, axis=1, keepdims=True)
    similarity = template_recall(fold["test"], embedder, templates)
    recall["template similarity (untrained)"] = {f"recall@{k:.0%}": similarity[f"recall@{int(k * 100)}%"]
                                                 for k in KS}
    print("| ranking | " + " | ".join(f"Recall@{k:.0%}" for k in KS) + " |\n|---|---|---|---|")
    for name, row in recall.items():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |")
    return {"split": {n: len(s) for n, s in fold.items()}, "train_seconds": trained, "faithfulness": summary,
            "recall": recall}


def _cited(outputs: list[dict]) -> list[tuple[str, str, float]]:
    return [(s["code"], p["text"], p["similarity"]) for out in outputs for s in out["symptoms"] for p in s["posts"]]


def users(args) -> dict:
    from depdetect.doris.arguments import DorisDataArguments
    from depdetect.doris.data import load_users
    from depdetect.doris.method import template_similarities
    from depdetect.doris.predictor import check_record, load_predictor

    predictor = load_predictor(args.folder)
    data = load_users(DorisDataArguments(), seed=args.seed, cohort_users=args.cohort_users)
    records = [check_record(row, f"test user {i}", True) for i, row in enumerate(data["test"])]
    spec = systems.get("doris")
    summary = measure_faithfulness(spec, spec.load("predictor"), predictor, records, args.samples)
    print(faithfulness_table(summary, "DORIS on the SIMULATED cohort's test users"))
    outputs = predictor.explain_batch(records)
    flagged = [r for r, out in zip(records, outputs) if out["label"] == predictor.config.label_names[1]]
    on_flagged = measure_faithfulness(spec, spec.load("predictor"), predictor, flagged, len(flagged)) if len(
        flagged) > 1 else None
    if on_flagged:
        print(faithfulness_table(on_flagged, f"... on the {len(flagged)} test users DORIS flags as depressed"))
    cited = _cited(outputs)
    codes = [s["code"] for s in predictor.config.symptoms]
    train_texts = [p["text"] for u in data["train"] for p in u["posts"]]
    S, _ = template_similarities(predictor.embed(train_texts), *predictor.template_embeddings())
    stricter = {}
    for q in (0.95, 0.98, 0.99):
        cut = np.quantile(S, q, axis=0)
        stricter[f"{q:.0%}"] = sum(sim >= cut[codes.index(code)] for code, _, sim in cited)
    similarities = np.array([sim for *_, sim in cited])
    print(f"{len(cited)} (symptom, post) citations for {len(records)} test users; similarity min "
          f"{similarities.min():.3f}, median {np.median(similarities):.3f}, max {similarities.max():.3f}")
    print("cited at the training posts' per-symptom percentile: "
          + ", ".join(f"{q}: {n}" for q, n in stricter.items()))
    made_up = {"user_id": "made-up", "posts": [
        {"timestamp": "2024-01-03", "text": "Started a new job today, nervous but excited."},
        {"timestamp": "2024-01-20", "text": "Skipped dinner again, not hungry."},
        {"timestamp": "2024-02-11", "text": "I haven't slept properly in weeks and I feel worthless."},
        {"timestamp": "2024-02-20", "text": "Nothing feels worth doing anymore, I just stay in bed."}]}
    example = predictor.explain(made_up)
    quoted = [(s["name"], p["text"], p["similarity"]) for s in example["symptoms"] for p in s["posts"]]
    for name, text, similarity in quoted:
        print(f"made-up user: {name} <- {text!r} (similarity {similarity:.3f})")
    return {"faithfulness": summary, "faithfulness_flagged": on_flagged, "citations": len(cited),
            "cited_at_percentile": stricter,
            "similarity": {"min": float(similarities.min()), "median": float(np.median(similarities)),
                           "max": float(similarities.max())}, "made_up_user": quoted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="task", required=True)
    inter = commands.add_parser("interviews")
    inter.add_argument("--interviews", type=int, default=300)
    inter.add_argument("--epochs", type=int, default=4)
    inter.add_argument("--max_length", type=int, default=64)
    inter.add_argument("--learning_rate", type=float, default=3e-3)
    inter.add_argument("--work_dir", default="outputs/bench_explanations_dual")
    user = commands.add_parser("users")
    user.add_argument("folder")
    user.add_argument("--cohort_users", type=int, default=1000)
    user.add_argument("--seed", type=int, default=42)
    for sub in (inter, user):
        sub.add_argument("--samples", type=int, default=200)
        sub.add_argument("--output", default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    result = (interviews if args.task == "interviews" else users)(args)
    result["minutes"] = (time.perf_counter() - started) / 60
    print(f"{result['minutes']:.1f} min")
    write_json(args.output or f"outputs/bench_explanations_{args.task}.json", {"args": vars(args), **result})


if __name__ == "__main__":
    main()
