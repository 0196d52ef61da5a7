"""`python train.py --model dual_encoder [--mhim] [--folds 5] ...`: train, evaluate and save the dual encoder.

Phase 1 trains the donor plainly; with --mhim, Phase 2 trains the receiver on turns masked from the donor's
attention (depdetect.mhim). Both are saved as Hub-ready folders (OUTPUT_DIR/donor, OUTPUT_DIR/receiver) and
reported with RMSE, MAE, attention entropy and Recall@k. --folds K runs stratified K-fold cross-validation
instead and reports mean +- std (no model folders are kept then).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed
from datasets import DatasetDict, concatenate_datasets
from torch.utils.data import DataLoader
from transformers import AutoTokenizer

from . import DepressionScoringPipeline, DualEncoderForDepressionScoring
from .cards import dual_encoder_card, saved_versions
from .cli import MINILM_HUB_ID, make_accelerator
from .data import InterviewCollator, load_interviews, tokenize_interviews
from .metrics import interview_metrics, json_safe
from .mhim import HardInstanceMasker, strip_meta
from .training import TrainingConfig, latest_checkpoint, train

DEFAULTS = {  # Lau et al. 2023's configuration where it has one
    "learning_rate": 3e-4,
    "batch_size": 4,
    "eval_batch_size": 8,
    "num_epochs": 10,
    "max_length": 128,
    "lstm_hidden_size": 64,
    "dropout": 0.5,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dual encoder and MHIM (--model dual_encoder)")
    group.add_argument("--sentence_encoder", default=None, help="Sentence encoder (default: the same as --encoder).")
    group.add_argument("--num_labels", type=int, default=1, choices=[1, 2], help="1: score regression; 2: classification.")
    group.add_argument("--score_threshold", type=float, default=10.0, help="Score at or above which label = 1.")
    group.add_argument("--prefix_length", type=int, default=10)
    group.add_argument("--projection_size", type=int, default=128)
    group.add_argument("--mhim", action="store_true", help="Run Phase 2 (receiver trained with masked hard instances).")
    group.add_argument("--mask_top", type=float, default=0.1, help="t: turns masked from the top 2t by donor attention (count, or ratio < 1).")
    group.add_argument("--mask_bottom", type=float, default=0.1, help="b: lowest-attention turns masked (count, or ratio < 1).")
    group.add_argument("--teacher", choices=["frozen", "ema"], default="frozen", help="Donor frozen (paper) or EMA of the receiver (MHIM-MIL).")
    group.add_argument("--ema_decay", type=float, default=0.999)
    group.add_argument("--receiver_init", choices=["donor", "fresh"], default="donor")
    group.add_argument("--receiver_epochs", type=int, default=None, help="Phase-2 epochs (default: --num_epochs).")
    group.add_argument("--folds", type=int, default=0, help="K-fold cross-validation (K >= 2); 0: one train/validation/test run.")


def interview_loaders(data: DatasetDict, tokenizer, args) -> dict[str, DataLoader]:
    tokenized = tokenize_interviews(data, tokenizer, args.max_length)
    collator = InterviewCollator(tokenizer.pad_token_id, args.num_labels, args.score_threshold)
    loaders = {}
    for split, ds in tokenized.items():
        ds = ds.add_column("index", list(range(len(ds))))
        loaders[split] = DataLoader(
            ds.with_format(None, columns=["turn_input_ids", "turn_token_type_ids", "turn_importance", "score", "label", "index"]),
            batch_size=args.batch_size if split == "train" else args.eval_batch_size,
            shuffle=split == "train",
            collate_fn=collator,
            generator=torch.Generator().manual_seed(args.seed),
        )
    loaders["train_in_order"] = DataLoader(loaders["train"].dataset, batch_size=args.eval_batch_size, collate_fn=collator)
    return loaders


@torch.no_grad()
def predict_interviews(model, loader: DataLoader, accelerator: Accelerator):
    """Scores, targets, per-interview attention and importance arrays over a (prepared) loader."""
    model.eval()
    scores, targets, attentions, importance = [], [], [], []
    for batch in loader:
        out = model(**strip_meta(batch, 0))
        att = accelerator.pad_across_processes(out.attentions, dim=1)
        mask = accelerator.pad_across_processes(batch["turn_mask"], dim=1)
        imp = accelerator.pad_across_processes(batch["importance"], dim=1, pad_index=-1)
        s, y, att, mask, imp = accelerator.gather_for_metrics((out.scores, batch["labels"], att, mask, imp))
        scores.append(s.float().cpu().numpy())
        targets.append(y.float().cpu().numpy())
        for a, m, i in zip(att.float().cpu().numpy(), mask.cpu().numpy().astype(bool), imp.cpu().numpy()):
            attentions.append(a[m])
            importance.append(i[m])
    return np.concatenate(scores), np.concatenate(targets), attentions, importance


def make_evaluate(num_labels: int):
    def evaluate(model, loader, accelerator) -> dict[str, float]:
        scores, targets, attentions, importance = predict_interviews(model, loader, accelerator)
        return interview_metrics(scores, targets, attentions, importance, num_labels=num_labels)

    return evaluate


def build_dual_encoder(args, train_scores: list[float]) -> DualEncoderForDepressionScoring:
    mean, std = 0.0, 1.0
    if args.num_labels == 1:  # standardise regression targets with the training scores
        scores = np.asarray(train_scores, dtype=np.float64)
        mean, std = float(np.nanmean(scores)), float(np.nanstd(scores)) or 1.0
    return DualEncoderForDepressionScoring.from_encoders(
        args.encoder,
        args.sentence_encoder,
        num_labels=args.num_labels,
        prefix_length=args.prefix_length,
        projection_size=args.projection_size,
        lstm_hidden_size=args.lstm_hidden_size,
        dropout=args.dropout,
        max_turn_length=args.max_length,
        score_threshold=args.score_threshold,
        score_mean=mean,
        score_std=std,
    )


def train_phase(name, model, loaders, args, workdir: Path, prepare_batch, num_epochs, on_step=None):
    accelerator = make_accelerator(args)  # one per phase: each phase checkpoints only its own model
    metric = args.metric_for_best_model or ("f1" if args.num_labels == 2 else "rmse")
    config = TrainingConfig(
        output_dir=str(workdir / name),
        num_epochs=num_epochs,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        metric_for_best_model=metric,
        greater_is_better=metric not in ("rmse", "mae"),
        checkpointing_steps=args.checkpointing_steps,
        keep_checkpoints=args.keep_checkpoints,
        max_steps=args.max_steps,
    )
    resume = args.resume_from_checkpoint
    if resume == "latest" and name == "receiver" and latest_checkpoint(workdir / name) is None:
        resume = None  # the run died before Phase 2 saved anything: Phase 2 starts afresh
    accelerator.print(f"\n== {name}: {num_epochs} epoch(s)")
    start = time.perf_counter()
    model, state = train(
        model, loaders["train"], loaders["validation"], config, accelerator, make_evaluate(args.num_labels),
        resume_from_checkpoint=resume, on_step=on_step, prepare_batch=prepare_batch,
    )
    state.seconds = time.perf_counter() - start  # training wall time, per-epoch validation included
    test = make_evaluate(args.num_labels)(model, accelerator.prepare(loaders["test"]), accelerator)
    return model, state, test, accelerator


def run_once(data: DatasetDict, tokenizer, args, output_dir: Path, save: bool, on_step=None) -> dict:
    """Phase 1 (and Phase 2 with --mhim) on one train/validation/test split."""
    set_seed(args.seed)
    loaders = interview_loaders(data, tokenizer, args)
    workdir = output_dir / "checkpoints"
    results = {}
    donor = build_dual_encoder(args, data["train"]["score"])
    donor, state, test, accelerator = train_phase("donor", donor, loaders, args, workdir, strip_meta, args.num_epochs, on_step)
    results["donor"] = {"test": test, "validation_history": state.history, "best_epoch": state.best_epoch,
                        "train_seconds": state.seconds}
    if save and accelerator.is_main_process:
        save_scoring_model(donor, tokenizer, output_dir / "donor", results["donor"], args, "donor (Phase 1)")
    if args.mhim:
        set_seed(args.seed + 1)
        if args.receiver_init == "donor":
            receiver = DualEncoderForDepressionScoring(donor.config)
            receiver.load_state_dict(donor.state_dict())
        else:
            receiver = build_dual_encoder(args, data["train"]["score"])
        masker = HardInstanceMasker(
            donor.to(accelerator.device), args.mask_top, args.mask_bottom, seed=args.seed,
            teacher=args.teacher, receiver=receiver, ema_decay=args.ema_decay,
        )
        start = time.perf_counter()
        if args.teacher == "frozen":
            masker.cache_attention(loaders["train_in_order"])
        caching = time.perf_counter() - start
        receiver, state, test, accelerator = train_phase(
            "receiver", receiver, loaders, args, workdir, masker, args.receiver_epochs or args.num_epochs, on_step
        )
        results["receiver"] = {"test": test, "validation_history": state.history, "best_epoch": state.best_epoch,
                               "train_seconds": state.seconds + caching, "donor_attention_seconds": caching}
        results["receiver_entropy_higher"] = test["attention_entropy"] > results["donor"]["test"]["attention_entropy"]
        if save and accelerator.is_main_process:
            save_scoring_model(receiver, tokenizer, output_dir / "receiver", results["receiver"], args, "receiver (Phase 2, MHIM)")
    if save and not args.keep_checkpoints_after_training:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def save_scoring_model(model, tokenizer, folder: Path, metrics: dict, args, role: str) -> None:
    model = model.to("cpu").eval()
    DepressionScoringPipeline(model=model, tokenizer=tokenizer, device="cpu").save_pretrained(str(folder))
    payload = {**metrics, "role": role, "mhim": {k: getattr(args, k) for k in ("mask_top", "mask_bottom", "teacher", "receiver_init")} if args.mhim else None}
    payload["card"] = {  # what the model card says (push_to_hub.py rebuilds the card from it)
        "data_description": args.data_description,
        "training_description": f"{len(metrics['validation_history'])} epoch(s), batch {args.batch_size}, lr {args.learning_rate}",
        "encoders": list(encoder_names(args)),
        "base_model": MINILM_HUB_ID if args.encoder_is_default else None,
        "dataset_name": "user-supplied interviews",
        "dataset_type": "custom",
        "versions": saved_versions(),
    }
    (folder / "metrics.json").write_text(json.dumps(json_safe(payload), indent=2, allow_nan=False))
    dual_encoder_card(model.config, payload, repo_or_path=str(folder)).save(str(folder / "README.md"))


def encoder_names(args) -> tuple[str, str]:
    """How the card names the encoders: the Hub id of the bundled MiniLM, else what the user passed."""
    prefix = MINILM_HUB_ID if args.encoder_is_default else str(args.encoder)
    sentence = prefix if args.sentence_encoder in (None, args.encoder) else str(args.sentence_encoder)
    return prefix, sentence


def fold_splits(data: DatasetDict, folds: int, seed: int):
    """Stratified K folds over all given interviews (by label, or by score quartile when labels are missing).

    Yields (k, DatasetDict): the fold is the test split; 15% of the rest (stratified) is the validation split
    that picks the best epoch.
    """
    from sklearn.model_selection import StratifiedKFold

    pooled = concatenate_datasets([data[s] for s in data])
    labels = np.asarray(pooled["label"])
    strata = labels if labels.min() >= 0 else np.digitize(pooled["score"], np.quantile(pooled["score"], [0.25, 0.5, 0.75]))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (rest, test) in enumerate(splitter.split(np.zeros(len(pooled)), strata)):
        parts = pooled.select(rest).train_test_split(
            test_size=0.15, seed=seed, stratify_by_column="label" if labels.min() >= 0 else None
        )
        yield k, DatasetDict(train=parts["train"], validation=parts["test"], test=pooled.select(test))


def summarize(per_fold: list[dict]) -> dict:
    """Mean and standard deviation over folds of each role's test metrics."""
    summary = {}
    for role in ("donor", "receiver"):
        if role not in per_fold[0]:
            continue
        summary[role] = {}
        for key in per_fold[0][role]["test"]:
            values = np.array([f[role]["test"][key] for f in per_fold], dtype=np.float64)
            values = values[~np.isnan(values)]  # e.g. Recall@k where no fold has importance labels
            summary[role][key] = {"mean": float(values.mean()) if values.size else math.nan,
                                  "std": float(values.std()) if values.size else math.nan}
    return summary


def cross_validate(data: DatasetDict, tokenizer, args, output_dir: Path) -> dict:
    """Stratified K-fold cross-validation: each fold is the test set once."""
    per_fold = []
    for k, fold in fold_splits(data, args.folds, args.seed):
        say(f"\n#### fold {k + 1}/{args.folds}: {len(fold['train'])} train / {len(fold['validation'])} validation / {len(fold['test'])} test")
        per_fold.append(run_once(fold, tokenizer, args, output_dir / f"fold_{k}", save=False))
        shutil.rmtree(output_dir / f"fold_{k}", ignore_errors=True)
    return {"folds": args.folds, "per_fold": per_fold, "summary": summarize(per_fold)}


def run(args, on_step=None) -> dict:
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.encoder_learning_rate is None:
        args.encoder_learning_rate = args.learning_rate
    hybrid_only = [flag for flag, used in (("--lora_r", args.lora_r), ("--no_bilstm", args.no_bilstm), ("--no_cnn", args.no_cnn)) if used]
    if hybrid_only:
        raise ValueError(f"{', '.join(hybrid_only)} apply to --model hybrid only (the dual encoder's backbones are frozen).")
    if args.folds == 1 or args.folds < 0:
        raise ValueError(f"--folds must be 0 (no cross-validation) or >= 2, got {args.folds}.")
    data = load_interviews(args.train_file, args.validation_file, args.test_file, args.dataset_dir, seed=args.seed)
    args.data_description = f"User-supplied interviews ({args.train_file or args.dataset_dir})."
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    tokenizer.padding_side = "right"
    output_dir = Path(args.output_dir)
    if args.folds:
        results = cross_validate(data, tokenizer, args, output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "cv_metrics.json").write_text(json.dumps(json_safe(results), indent=2, allow_nan=False))
        print_summary(results["summary"])
        return results
    results = run_once(data, tokenizer, args, output_dir, save=True, on_step=on_step)
    print_summary({role: {k: {"mean": v} for k, v in results[role]["test"].items()} for role in ("donor", "receiver") if role in results})
    if "receiver_entropy_higher" in results:
        say(f"Receiver attention entropy higher than the donor's (the paper's claim): {results['receiver_entropy_higher']}")
    return results


def say(text: str) -> None:
    """Print once, from the main process (several run under accelerate launch / torchrun)."""
    if PartialState().is_main_process:
        print(text)


def print_summary(summary: dict) -> None:
    for role, metrics in summary.items():
        parts = []
        for key, value in metrics.items():
            if key.startswith("recall_interviews"):
                continue
            text = f"{value['mean']:.4f}" if math.isfinite(value["mean"]) else "n/a"
            if "std" in value:
                text += f" +- {value['std']:.4f}"
            parts.append(f"{key}={text}")
        say(f"{role} test: " + ", ".join(parts))
