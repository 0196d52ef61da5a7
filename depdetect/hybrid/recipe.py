"""Train, evaluate, save and predict with the Hybrid: `train_hybrid(HybridArguments(...))`.

Steps, each a named function: `load_posts` (data.py), `build_model`, `build_dataloaders`, `train`
(depdetect.training), `evaluate`, the Hub-ready folder (`save_model_folder`), `show_examples`. The command line
(`depdetect train hybrid`) and the benchmarks call `train_hybrid`; `depdetect predict/evaluate` call
`load_predictor`, `check_record` and `predict`.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import torch
from accelerate.utils import set_seed
from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, DataCollatorWithPadding

from ..baselines import fit_baselines
from ..calibration import apply_temperature, fit_temperature
from ..data import require_classes, split_groups
from ..metrics import classification_metrics
from ..reporting import classification_report, format_report, plots_for, public
from ..runs import claim_output_dir, run_fingerprint
from ..training import TrainResult, make_accelerator, remove_checkpoints, save_model_folder, say_saved, train
from ..training import predict as predict_probabilities
from ..utils import MINILM_HUB_ID, default_encoder_path, plural, public_name, saved_versions
from .arguments import HybridArguments, HybridModelArguments
from .card import hybrid_card
from .data import RMHD_DESCRIPTION, load_posts
from .modeling_hybrid import HybridForSequenceClassification
from .pipeline_hybrid import DepressionDetectionPipeline


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


def build_model(encoder: str, model_args: HybridModelArguments, config: dict, label_names: list[str],
                train_labels: list[int]) -> HybridForSequenceClassification:
    """The Hybrid around `encoder`, with the HybridConfig fields in `config`, and LoRA when `lora_r` > 0."""
    model = HybridForSequenceClassification.from_encoder(
        encoder,
        encoder_name=public_name(encoder),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
        class_weights=class_weights_from(model_args.class_weights, train_labels, len(label_names)),
        **config,
    )
    if model_args.lora_r:
        from peft import LoraConfig, get_peft_model

        lora_config = LoraConfig(
            r=model_args.lora_r,
            lora_alpha=model_args.lora_alpha,
            lora_dropout=model_args.lora_dropout,
            target_modules=[m.strip() for m in model_args.lora_target_modules.split(",") if m.strip()],
            bias="none",
        )
        model.encoder = get_peft_model(model.encoder, lora_config)
    return model


def merge_lora(model: HybridForSequenceClassification) -> HybridForSequenceClassification:
    """Fold LoRA weights into the encoder so the saved folder is a plain model (loads with remote code only)."""
    if hasattr(model.encoder, "merge_and_unload"):
        model.encoder = model.encoder.merge_and_unload()
    return model


def build_dataloaders(data: DatasetDict, tokenizer, max_length: int, batch_size: int, eval_batch_size: int,
                      seed: int) -> dict[str, DataLoader]:
    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    first = next(iter(data.values()))
    extra = [c for c in first.column_names if c not in ("text", "label")]  # e.g. the `group` column
    tokenized = data.map(tokenize, batched=True, remove_columns=["text", *extra]).rename_column("label", "labels")
    collator = DataCollatorWithPadding(tokenizer)
    loaders = {}
    for split, ds in tokenized.items():
        # Own generators keep the global RNG (dropout) untouched by data loading, so resumed runs match.
        loaders[split] = DataLoader(
            ds,
            batch_size=batch_size if split == "train" else eval_batch_size,
            shuffle=split == "train",
            collate_fn=collator,
            generator=torch.Generator().manual_seed(seed),
        )
    return loaders


def evaluate(model, loader: DataLoader, accelerator) -> dict[str, float]:
    """Classification metrics of the Hybrid over a (prepared) loader."""
    return classification_metrics(*predict_probabilities(model, loader, accelerator))


def calibrate_and_report(model, data: DatasetDict, loaders: dict, accelerator, args: HybridArguments
                         ) -> tuple[dict, dict]:
    """Calibration and threshold fitted on validation (written into `model.config`), and the test report: metrics
    with bootstrap intervals, ECE/Brier before and after, baselines and the gain over them. Returns (the metrics
    to save, {plot file: PNG})."""
    ev, seed = args.evaluation, args.training.seed
    validation_probs, validation_y = predict_probabilities(model, accelerator.prepare(loaders["validation"]),
                                                           accelerator)
    test_probs, test_y = predict_probabilities(model, accelerator.prepare(loaders["test"]), accelerator)
    method = "temperature" if ev.calibration == "auto" else ev.calibration
    if test_probs.shape[1] != 2:  # several classes: temperature scaling and plain metrics only
        fitted = (fit_temperature(validation_probs, validation_y, ev.calibration_min_examples)
                  if method == "temperature" else {"note": None})
        temperature = fitted.get("temperature", 1.0)
        model.config.calibration = {"method": "temperature", "temperature": temperature} if temperature != 1 else None
        return {"test": classification_metrics(apply_temperature(test_probs, temperature), test_y),
                "calibration": fitted,
                "note": "thresholds, ECE, intervals and baselines are reported for two classes only"}, {}
    baselines = {}
    if accelerator.is_main_process:
        baselines = fit_baselines([[t] for t in data["train"]["text"]], data["train"]["label"],
                                  [[t] for t in data["test"]["text"]], which=ev.baselines, seed=seed)
    report = classification_report(
        test_y=test_y, test_raw=test_probs[:, 1], validation_y=validation_y, validation_raw=validation_probs[:, 1],
        calibration=method, threshold_rule=ev.threshold_rule, baseline_scores=baselines,
        groups=split_groups(data["test"]),
        resamples=ev.bootstrap_resamples, seed=seed, min_calibration_examples=ev.calibration_min_examples,
    )
    model.config.calibration = report.pop("saved_calibration")
    model.config.decision_threshold = report["threshold"]["decision_threshold"]
    model.config.threshold_rule = report["threshold"]["threshold_rule"]
    plots = plots_for(report) if ev.plots and accelerator.is_main_process else {}
    return public(report), plots


def card_section(args: HybridArguments, model, metrics: dict) -> dict:
    """What the model card says about data and training (push rebuilds the card from it)."""
    n, t = metrics["num_examples"], args.training
    lora = args.model
    return {
        "data_description": (f"User-supplied data ({args.data.describe()})." if args.data.user_supplied
                             else RMHD_DESCRIPTION),
        "split_description": f"{n['train']} train / {n['validation']} validation / {n['test']} test, stratified, "
                             f"seed {t.seed}",
        "training_description": (
            f"{plural(metrics['epochs_run'], 'epoch')}, batch {t.batch_size}, max length {model.config.max_length}, "
            "AdamW "
            f"(head lr {t.learning_rate}, encoder lr {t.encoder_learning_rate}), linear warm-up {t.warmup_ratio}, "
            f"class weights {model.config.class_weights}"
            + (f", LoRA r={lora.lora_r} on {lora.lora_target_modules} (merged)" if lora.lora_r else "")
            + (f", early stopping after {t.early_stopping_patience} epoch(s) without a better validation "
               f"{t.metric_for_best_model}" if t.early_stopping_patience else "")
            + (f", a contrastive warm-up of the encoder on {t.contrastive_pairs} training pairs (SetFit's first "
               "stage)" if t.contrastive_pairs else "")
            + (f", label words masked in training texts with probability {t.label_word_masking}"
               if t.label_word_masking else "")
        ),
        "base_model": MINILM_HUB_ID if args.model.encoder is None else None,
        "dataset_name": args.data.describe() if args.data.user_supplied else "RMHD sample (construct-tracker 1.0.16)",
        "dataset_type": "custom" if args.data.user_supplied else "rmhd-sample",
        "versions": saved_versions(),
    }


def mask_training_words(data: DatasetDict, args: HybridArguments, mask_token: str | None) -> tuple[DatasetDict, dict]:
    """The training split with label words masked (`--label_word_masking P`), and what was masked; validation and
    test stay as they are (the best epoch and the report read real posts)."""
    from ..audit import label_word_pattern, mask_label_words, read_audit_words

    probability = args.training.label_word_masking
    if not probability:
        return data, {}
    if not mask_token:
        raise ValueError("--label_word_masking needs a tokenizer with a mask token; this encoder's has none.")
    train = data["train"]
    texts, masked = mask_label_words(train["text"], label_word_pattern(read_audit_words(args.evaluation.audit_words)),
                                     probability, mask_token, args.training.seed)
    data = DatasetDict({**data, "train": train.remove_columns("text").add_column("text", texts)})
    return data, {"probability": probability, "words_masked": masked, "texts": len(texts)}


def warm_up_encoder(model, tokenizer, data: DatasetDict, args: HybridArguments) -> dict:
    """The contrastive warm-up of the encoder (`--contrastive_pairs N`, depdetect.contrastive); skipped when the
    run resumes (the checkpoint holds the warmed weights)."""
    t = args.training
    if not t.contrastive_pairs or t.resume_from_checkpoint:
        return {}
    from ..contrastive import contrastive_warmup

    return contrastive_warmup(model.encoder, tokenizer, data["train"]["text"], data["train"]["label"],
                              t.contrastive_pairs, max_length=model.config.max_length,
                              learning_rate=t.contrastive_learning_rate, batch_size=t.contrastive_batch_size,
                              seed=t.seed, max_grad_norm=t.max_grad_norm)


def explanation_checks(model, tokenizer, data: DatasetDict, args: HybridArguments) -> dict:
    """The faithfulness check and the shortcut audit on the test split (depdetect.inference.training_checks)."""
    from ..inference import training_checks

    test = data["test"]
    records = [{"text": t, "label": y} for t, y in zip(test["text"], test["label"])]
    detector = DepressionDetectionPipeline(model=model.eval(), tokenizer=tokenizer, device=model.device)
    return training_checks("hybrid", detector, records, args.evaluation, args.training.seed)


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
        result = detector(text, explain="nas,integrated_gradients")
        excerpt = textwrap.shorten(" ".join(text.split()), width=300, placeholder=" ...")
        print(f"\n--- test post {i}: true {label}, predicted {result['label']} "
              f"(P(depression)={result['probability']:.3f})")
        print(textwrap.fill(excerpt, width=100, initial_indent="    ", subsequent_indent="    "))
        for key, name in (("nas", "NAS"), ("integrated_gradients", "Integrated Gradients")):
            top = sorted(result["tokens"], key=lambda t, key=key: -t[key])[:8]
            print(f"    words by {name}: " + ", ".join(f"{t['token']} {t[key]:.3f}" for t in top))


def train_hybrid(args: HybridArguments | None = None, *, dataset: DatasetDict | None = None,
                 on_step=None) -> TrainResult:
    """Train the Hybrid, pick the best epoch on validation, score it on test and save a Hub-ready folder.

    `dataset` (a posts DatasetDict) replaces loading `args.data`; `on_step(step)` is called after each optimiser
    step. Returns the metrics (as written to metrics.json), the folder and the model.
    """
    args = args or HybridArguments()
    t = args.training
    accelerator = make_accelerator(t)
    set_seed(t.seed)
    data = dataset if dataset is not None else load_posts(args.data, seed=t.seed)
    require_classes(data["train"]["label"], data["train"].features["label"].names, "The training split")
    run_id = run_fingerprint(args, dataset)
    output_dir = claim_output_dir(t.output_dir, run_id, overwrite=t.overwrite_output_dir,
                                  resume=bool(t.resume_from_checkpoint), main_process=accelerator.is_main_process)
    accelerator.wait_for_everyone()
    label_names = data["train"].features["label"].names
    encoder = args.model.encoder or default_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    tokenizer.padding_side = "right"
    model = build_model(encoder, args.model, args.config, label_names, data["train"]["label"])
    warmup = warm_up_encoder(model.to(accelerator.device), tokenizer, data, args)
    trained_on, masking = mask_training_words(data, args, tokenizer.mask_token)
    loaders = build_dataloaders(trained_on, tokenizer, model.config.max_length, t.batch_size, t.eval_batch_size,
                                t.seed)
    model, state = train(model, loaders["train"], loaders["validation"], t, accelerator, evaluate,
                         checkpoint_dir=output_dir / "checkpoints", resume_from_checkpoint=t.resume_from_checkpoint,
                         on_step=on_step, run_id=run_id, run_name="hybrid")
    report, plots = calibrate_and_report(model, data, loaders, accelerator, args)
    metrics = {
        **report,
        "validation_history": state.history,
        "best_epoch": state.best_epoch,
        "metric_for_best_model": t.metric_for_best_model,
        "epochs_run": len(state.history),
        "num_examples": {split: len(ds) for split, ds in data.items()},
        "class_counts": {split: dict(Counter(label_names[y] for y in ds["label"])) for split, ds in data.items()},
        "run_id": run_id,
        **({"contrastive_warmup": warmup} if warmup else {}),
        **({"label_word_masking": masking} if masking else {}),
    }
    if accelerator.is_main_process:
        model = merge_lora(model)
        print("\n" + format_report(metrics, f"Test metrics ({len(data['test'])} texts)"))
        metrics.update(explanation_checks(model, tokenizer, data, args))
        metrics["card"] = card_section(args, model, metrics)
        save_model_folder(model, tokenizer, output_dir, metrics, hybrid_card, "hybrid", extra_files=plots)
        show_examples(model, tokenizer, data, t.show_examples)
    remove_checkpoints(accelerator, t)
    say_saved([output_dir], accelerator.is_main_process)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(metrics=metrics, output_dir=output_dir, models={"model": model})


# -- depdetect predict / evaluate ----------------------------------------------------------------------------
