"""Models worth choosing over a logistic regression? The Hybrid's recipes against SetFit and the simple baselines.

    python bench/peers.py run --setting nonclinical --seed 0 [--systems ...] [--epochs 1] [--max_length 64]
    python bench/peers.py run --setting cross_corpus --max_length 128
    python bench/peers.py report outputs/bench_peers            # the tables, from every run's JSON

One protocol, one table. Settings:

* `nonclinical` / `mental_health`: the RMHD tasks with the ablation bench's stratified 70/15/15 split per seed
  (`load_rmhd(seed, task)`; 39 depression posts in each test split);
* `cross_corpus`: trained on the quick-start split (RMHD `nonclinical`, seed 42) and tested on all of
  `../shared/data/reddit_depression.csv` (7,730 posts with a label, 3,830 depression, read latin-1): someone
  else's posts, labelled another way.

Systems, all on the same training split, each Hybrid run with `train_hybrid` at the same budget (`--epochs`,
`--max_length`; the best epoch on validation AUPRC), the validation AUPRC of its best epoch recorded (that, never the
test, decides which option becomes a default):

* `paper`: the paper's recipe (PTLM + BiLSTM + CNN); `es1`: the encoder alone (the paper's ES1);
* one option at a time on top of `paper`: `contrastive` (`--contrastive_pairs`, 2 pairs per training post, SetFit's
  first stage), `pooled` (`--use_pooled_embedding`), `early_stopping` (up to 4x the epochs, patience 1),
  `label_masking` (`--label_word_masking 0.5`); `combined`: the options given by `--combined`;
* `setfit`: the `setfit` library (1.2.0: it runs with transformers 5), the same MiniLM body, its documented defaults
  (1 epoch, batch 16, body learning rate 2e-5, CosineSimilarityLoss, logistic-regression head) except
  `num_iterations=1` (2 pairs per training post instead of 40: 40 would take ~20x a Hybrid run on 2 CPU cores) and
  the body's `max_seq_length` set to the Hybrid's `--max_length` (SetFit's own `max_length` reaches only the head;
  the body would read 256 tokens);
* `tfidf_logreg`, `embedding_logreg`: depdetect's baselines (`fit_baselines`).

Each run writes `<output>/<setting>_seed<seed>.json` (test probabilities, labels, validation AUPRC, seconds); runs of
several settings go side by side in separate processes (`OMP_NUM_THREADS=1`). `report` prints, per setting, AUPRC,
AUROC, F1 at 0.5 and ECE (15 bins; the Hybrid's with its saved calibration) as mean +- std over seeds, and the paired
bootstrap interval (1,000 resamples of the test posts) of each system minus the better baseline and minus SetFit,
per seed. Prints what it measured; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hybrid_ablation import paired_difference  # noqa: E402

from depdetect.metrics import binary_metrics, expected_calibration_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT.parent / "shared" / "data" / "reddit_depression.csv"
#: the paper's recipe, written out (depdetect's defaults since 0.11 add the pooled path and early stopping)
PAPER = ({"use_pooled_embedding": False}, {"early_stopping_patience": 0})
#: the options, each on top of the paper's recipe: (HybridConfig fields, HybridTrainingArguments fields)
OPTIONS = {
    "paper": ({}, {}),
    "es1": ({"use_bilstm": False, "use_cnn": False}, {}),
    "contrastive": ({}, {"contrastive_pairs": "2x"}),
    "pooled": ({"use_pooled_embedding": True}, {}),
    "early_stopping": ({}, {"num_epochs": "4x", "early_stopping_patience": 1}),
    "label_masking": ({}, {"label_word_masking": 0.5}),
}
BASELINES = ("tfidf_logreg", "embedding_logreg")
ALL = (*OPTIONS, "combined", "setfit", *BASELINES)


def load_setting(setting: str, seed: int):
    """(the training DatasetDict, test texts, test labels) of a setting."""
    from depdetect.hybrid.data import load_rmhd

    if setting != "cross_corpus":
        data = load_rmhd(seed=seed, task=setting)
        return data, list(data["test"]["text"]), np.asarray(data["test"]["label"])
    import pandas as pd

    data = load_rmhd(seed=42)
    frame = pd.read_csv(SHIFT, encoding="latin-1").dropna(subset=["is_depression", "clean_text"])
    frame = frame[frame["clean_text"].str.strip() != ""]
    return data, frame["clean_text"].tolist(), frame["is_depression"].astype(int).to_numpy()


def resolve(value, data, epochs: int):
    """'2x' in contrastive_pairs: 2 pairs per training post; '4x' in num_epochs: 4 times the budget."""
    if value == "2x":
        return 2 * len(data["train"])
    if value == "4x":
        return 4 * epochs
    return value


def run_hybrid(name: str, data, test_texts, args, seed: int) -> dict:
    from transformers import AutoTokenizer

    from depdetect.arguments import EvaluationArguments
    from depdetect.calibration import calibrate
    from depdetect.hybrid.arguments import HybridArguments, HybridTrainingArguments
    from depdetect.hybrid.recipe import predict_probabilities, train_hybrid
    from depdetect.utils import default_encoder_path

    config, training = combined(args) if name == "combined" else OPTIONS[name]
    config = {**PAPER[0], **config}
    training = {"num_epochs": args.epochs, **PAPER[1],
                **{k: resolve(v, data, args.epochs) for k, v in training.items()}}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        result = train_hybrid(HybridArguments(
            config={"max_length": args.max_length, **config},
            training=HybridTrainingArguments(output_dir=workdir, seed=seed, checkpointing_steps=0, show_examples=0,
                                             overwrite_output_dir=True, metric_for_best_model="auprc", **training),
            evaluation=EvaluationArguments(bootstrap_resamples=0, baselines="none", plots=False,
                                           faithfulness=False, audit=False),
        ), dataset=data)
    seconds = time.perf_counter() - start
    model = result.models["model"].eval()
    tokenizer = AutoTokenizer.from_pretrained(default_encoder_path())
    probabilities = predict_texts(model, tokenizer, test_texts, args.max_length, predict_probabilities)
    history = result.metrics["validation_history"]
    return {"probabilities": calibrate(probabilities, model.config.calibration).tolist(), "seconds": seconds,
            "validation_auprc": max(h["eval_auprc"] for h in history), "best_epoch": result.metrics["best_epoch"],
            "epochs_run": len(history), **{k: result.metrics[k] for k in ("contrastive_warmup", "label_word_masking")
                                           if k in result.metrics}}


def predict_texts(model, tokenizer, texts, max_length: int, predict_probabilities) -> np.ndarray:
    from accelerate import Accelerator
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    from depdetect.hybrid.recipe import build_dataloaders

    features = Features({"text": Value("string"), "label": ClassLabel(names=["control", "depression"])})
    test = DatasetDict({"test": Dataset.from_dict({"text": texts, "label": [0] * len(texts)}, features=features)})
    loader = build_dataloaders(test, tokenizer, max_length, 32, 64, 0)["test"]
    accelerator = Accelerator(cpu=True)
    return predict_probabilities(model, accelerator.prepare(loader), accelerator)[0][:, 1]


def combined(args) -> tuple[dict, dict]:
    config, training = {}, {}
    for name in args.combined:
        config.update(OPTIONS[name][0])
        training.update(OPTIONS[name][1])
    return config, training


def run_setfit(data, test_texts, args, seed: int) -> dict:
    from setfit import SetFitModel, Trainer, TrainingArguments

    from depdetect.utils import default_encoder_path

    start = time.perf_counter()
    model = SetFitModel.from_pretrained(default_encoder_path())
    model.model_body.max_seq_length = args.max_length  # SetFit's `max_length` argument reaches only its head
    with tempfile.TemporaryDirectory() as workdir:  # SetFit writes checkpoints (with a pickle) to ./checkpoints
        training = TrainingArguments(output_dir=workdir, batch_size=16, num_epochs=1, num_iterations=1,
                                     max_length=args.max_length, seed=seed, report_to="none", save_strategy="no",
                                     show_progress_bar=False)
        trainer = Trainer(model=model, args=training, train_dataset=data["train"].select_columns(["text", "label"]))
        trainer.train()
    seconds = time.perf_counter() - start
    validation = model.predict_proba(list(data["validation"]["text"]), as_numpy=True)[:, 1]
    test = model.predict_proba(list(test_texts), as_numpy=True)[:, 1]
    return {"probabilities": test.tolist(), "seconds": seconds,
            "validation_auprc": binary_metrics(validation, data["validation"]["label"])["auprc"]}


def run(args) -> None:
    from depdetect.baselines import CachedEmbedder, fit_baselines

    data, test_texts, y = load_setting(args.setting, args.seed)
    path = Path(args.output) / f"{args.setting}_seed{args.seed}.json"
    done = json.loads(path.read_text()) if path.is_file() else {"labels": y.tolist(), "systems": {}}
    if any(b in args.systems for b in BASELINES) and not all(b in done["systems"] for b in BASELINES):
        start = time.perf_counter()  # first: cheap, and every comparison needs them
        scores = fit_baselines([[t] for t in data["train"]["text"]], data["train"]["label"],
                               [[t] for t in test_texts], "classification", "all", CachedEmbedder(), args.seed)
        for name, values in scores.items():
            done["systems"][name] = {"probabilities": values.tolist(), "seconds": time.perf_counter() - start}
        write(path, done)
    for name in [s for s in args.systems if s not in BASELINES]:
        if name in done["systems"] and not args.again:
            continue
        print(f"\n######## {args.setting}, seed {args.seed}: {name}", flush=True)
        out = (run_setfit(data, test_texts, args, args.seed) if name == "setfit"
               else run_hybrid(name, data, test_texts, args, args.seed))
        done["systems"][name] = {**out, "budget": {"epochs": args.epochs, "max_length": args.max_length}}
        print(f"{name}: {out['seconds']:.0f} s, validation AUPRC {out['validation_auprc']:.3f}, test "
              f"{binary_metrics(out['probabilities'], y)}", flush=True)
        write(path, done)


def write(path: Path, done: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(done))


def report(args) -> None:
    runs: dict[str, list[dict]] = {}
    for path in sorted(Path(args.folder).glob("*_seed*.json")):
        setting, seed = path.stem.rsplit("_seed", 1)
        runs.setdefault(setting, []).append({**json.loads(path.read_text()), "seed": int(seed)})
    for setting, seeds in runs.items():
        names = [n for n in ALL if any(n in r["systems"] for r in seeds)]
        print(f"\n### {setting} (seeds {', '.join(str(r['seed']) for r in seeds)}; {len(seeds[0]['labels'])} test "
              "posts)\n")
        print("| system | validation AUPRC | AUPRC | AUROC | F1 | ECE | minutes per run |")
        print("|---|---|---|---|---|---|---|")
        for name in names:
            print(system_row(name, seeds))
        for reference in ("better baseline", "setfit"):
            print(f"\n| AUPRC minus {reference} | per seed [95% paired bootstrap] | seeds above 0 / below 0 |"
                  "\n|---|---|---|")
            for name in names:
                if name in BASELINES or name == reference:
                    continue
                cells = [(r["seed"], difference(r, name, reference, args.resamples, r["seed"])) for r in seeds]
                cells = [(seed, c) for seed, c in cells if c is not None]
                if cells:
                    above = sum(c["interval"][0] > 0 for _, c in cells)
                    below = sum(c["interval"][1] < 0 for _, c in cells)
                    text = "; ".join(f"seed {seed}: {c['difference']:+.3f} [{c['interval'][0]:+.3f}, "
                                     f"{c['interval'][1]:+.3f}]" for seed, c in cells)
                    print(f"| {name} | {text} | {above} / {below} |")


def system_row(name: str, seeds: list[dict]) -> str:
    values = {k: [] for k in ("validation_auprc", "auprc", "auroc", "f1", "ece", "minutes")}
    for r in seeds:
        if name not in r["systems"]:
            continue
        s, y = r["systems"][name], np.asarray(r["labels"])
        m = binary_metrics(s["probabilities"], y)
        values["auprc"].append(m["auprc"])
        values["auroc"].append(m["auroc"])
        values["f1"].append(m["f1"])
        values["ece"].append(expected_calibration_error(np.asarray(s["probabilities"]), y))
        values["minutes"].append(s["seconds"] / 60)
        if "validation_auprc" in s:
            values["validation_auprc"].append(s["validation_auprc"])
    cells = [f"{np.mean(v):.3f} +- {np.std(v):.3f}" if v else "-" for k, v in values.items() if k != "minutes"]
    return f"| {name} | " + " | ".join(cells) + f" | {np.mean(values['minutes']):.1f} |"


def difference(run_: dict, name: str, reference: str, resamples: int, seed: int) -> dict | None:
    systems, y = run_["systems"], np.asarray(run_["labels"])
    if name not in systems:
        return None
    if reference == "better baseline":
        present = [b for b in BASELINES if b in systems]
        if not present:
            return None
        reference = max(present, key=lambda b: binary_metrics(systems[b]["probabilities"], y)["auprc"])
    if reference not in systems:
        return None
    return paired_difference(np.asarray(systems[name]["probabilities"]),
                             np.asarray(systems[reference]["probabilities"]), y, seed, resamples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("run", help="Train and score the systems of one setting and seed.")
    r.add_argument("--setting", choices=("nonclinical", "mental_health", "cross_corpus"), required=True)
    r.add_argument("--seed", type=int, default=0, help="Split and training seed (cross_corpus: the training seed).")
    r.add_argument("--systems", nargs="+", choices=ALL, default=list(ALL))
    r.add_argument("--combined", nargs="+", choices=[n for n in OPTIONS if n not in ("paper", "es1")], default=[],
                   help="The options the `combined` system uses (chosen on validation AUPRC).")
    r.add_argument("--epochs", type=int, default=1, help="Epochs per Hybrid run (early_stopping: up to 4x).")
    r.add_argument("--max_length", type=int, default=64, help="Tokens per post (Hybrid and SetFit).")
    r.add_argument("--again", action="store_true", help="Rerun systems already in the output.")
    r.add_argument("--output", default="outputs/bench_peers")
    p = commands.add_parser("report", help="Print the tables from the runs' JSON files.")
    p.add_argument("folder", nargs="?", default="outputs/bench_peers")
    p.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
