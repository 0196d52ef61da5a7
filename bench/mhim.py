"""MHIM benchmark on ESConv (real dialogues): donor vs receiver, next to two baselines.

    python bench/mhim.py [--folds 5] [--seeds 0 1 2] [--epochs 10] [--esconv ../shared/data/FailedESConv.json]

Per seed and fold (stratified by emotion_type == depression; the fold is the test set, 15% of the rest picks the
best epoch): Phase 1 (donor) and Phase 2 (receiver, MHIM with the default masks) with the MiniLM encoders, and two
baselines on the same folds: the training mean, and ridge regression (alpha by internal CV) on a MiniLM embedding
of the whole dialogue (mean pooling, L2-normalised, first 256 tokens). Target: the seeker's initial emotion
intensity (1-5). Prints RMSE, MAE and attention entropy as mean +- std over all (seed, fold) runs, whether MHIM
helped, and Phase-2 / Phase-1 training time per epoch (donor attention cached once, counted in Phase 2).
ESConv carries no turn importance labels, so Recall@k is not measured here. Prints what it measured; asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from transformers import AutoModel, AutoTokenizer

from depdetect.corpora.esconv import load_esconv
from depdetect.dual_encoder.arguments import DualEncoderArguments, DualEncoderTrainingArguments
from depdetect.dual_encoder.recipe import fold_splits, train_dual_encoder
from depdetect.metrics import mae, rmse
from depdetect.utils import default_encoder_path, write_json

ROOT = Path(__file__).resolve().parents[1]


@torch.no_grad()
def dialogue_embeddings(dataset, encoder_path: str) -> np.ndarray:
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    model = AutoModel.from_pretrained(encoder_path).eval()
    texts = [" ".join(f"{t['prompt']} {t['response']}".strip() for t in turns) for turns in dataset["turns"]]
    out = []
    for i in range(0, len(texts), 32):
        enc = tokenizer(texts[i : i + 32], padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--esconv", default=str(ROOT.parent / "shared" / "data" / "FailedESConv.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="Epochs of each phase.")
    parser.add_argument("--max_length", type=int, default=128, help="Tokens per turn.")
    parser.add_argument("--output", default="outputs/bench_mhim.json")
    args = parser.parse_args()

    data = load_esconv(args.esconv)
    from datasets import DatasetDict

    data = DatasetDict(train=data)
    runs, baselines = [], {"train_mean": [], "ridge_dialogue_embedding": []}
    embeddings = dialogue_embeddings(data["train"], default_encoder_path())
    ids = {interview_id: i for i, interview_id in enumerate(data["train"]["interview_id"])}

    start = time.perf_counter()
    for seed in args.seeds:
        for k, fold in fold_splits(data, args.folds, seed):
            print(f"\n######## seed {seed}, fold {k + 1}/{args.folds}", flush=True)
            run_args = DualEncoderArguments(
                config={"max_turn_length": args.max_length},
                training=DualEncoderTrainingArguments(
                    output_dir=f"outputs/bench_mhim_work/s{seed}_f{k}", num_epochs=args.epochs, seed=seed, mhim=True,
                    checkpointing_steps=0),
            )
            result = train_dual_encoder(run_args, dataset=fold, save=False).metrics
            result["epochs"] = {
                "donor": len(result["donor"]["validation_history"]),
                "receiver": len(result["receiver"]["validation_history"]),
            }
            runs.append(result)
            train_ids = [ids[i] for split in ("train", "validation") for i in fold[split]["interview_id"]]
            test_ids = [ids[i] for i in fold["test"]["interview_id"]]
            y_train = np.array(list(fold["train"]["score"]) + list(fold["validation"]["score"]))
            y_test = np.array(list(fold["test"]["score"]))
            mean = np.full_like(y_test, y_train.mean())
            baselines["train_mean"].append({"rmse": rmse(mean, y_test), "mae": mae(mean, y_test)})
            ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(embeddings[train_ids], y_train)
            pred = ridge.predict(embeddings[test_ids])
            baselines["ridge_dialogue_embedding"].append({"rmse": rmse(pred, y_test), "mae": mae(pred, y_test)})
    elapsed = time.perf_counter() - start

    def stat(values):
        return f"{np.mean(values):.4f} +- {np.std(values):.4f}"

    print(f"\nESConv, {len(data['train'])} dialogues, {args.folds} folds x seeds {args.seeds} = {len(runs)} runs, "
          f"{args.epochs} epoch(s) per phase, {elapsed / 60:.1f} min in all")
    print("| model | RMSE | MAE | attention entropy |")
    print("|---|---|---|---|")
    for role in ("donor", "receiver"):
        print(f"| {role} | {stat([r[role]['test']['rmse'] for r in runs])} | "
              f"{stat([r[role]['test']['mae'] for r in runs])} | "
              f"{stat([r[role]['test']['attention_entropy'] for r in runs])} |")
    for name, values in baselines.items():
        print(f"| {name} | {stat([v['rmse'] for v in values])} | {stat([v['mae'] for v in values])} | - |")
    better_rmse = sum(r["receiver"]["test"]["rmse"] < r["donor"]["test"]["rmse"] for r in runs)
    higher_entropy = sum(
        r["receiver"]["test"]["attention_entropy"] > r["donor"]["test"]["attention_entropy"] for r in runs
    )
    print(f"receiver RMSE below donor's in {better_rmse}/{len(runs)} runs; receiver entropy above donor's in "
          f"{higher_entropy}/{len(runs)} runs")
    per_epoch = {role: [r[role]["train_seconds"] / r["epochs"][role] for r in runs] for role in ("donor", "receiver")}
    ratio = np.mean(per_epoch["receiver"]) / np.mean(per_epoch["donor"])
    print(f"seconds per epoch: Phase 1 {stat(per_epoch['donor'])}, Phase 2 {stat(per_epoch['receiver'])} "
          f"(ratio {ratio:.2f}x, target <= 1.2x)")
    write_json(args.output, {"runs": runs, "baselines": baselines, "args": vars(args)})


if __name__ == "__main__":
    main()
