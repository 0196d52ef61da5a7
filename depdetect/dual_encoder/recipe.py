"""Train, evaluate, save and predict with the MHIM dual encoder: `train_dual_encoder(DualEncoderArguments(...))`.

Phase 1 trains the donor plainly; with `mhim`, Phase 2 trains the receiver on turns masked from the donor's
attention (mhim.py). Both are saved as Hub-ready folders (OUTPUT_DIR/donor, OUTPUT_DIR/receiver) and reported with
RMSE, MAE, attention entropy and Recall@k. `folds` K runs stratified K-fold cross-validation instead
(`cross_validate`) and reports mean +- std (no model folders are kept then). The command line
(`depdetect train dual-encoder`) and the benchmarks call these functions.
"""

from __future__ import annotations

import copy
import math
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed
from datasets import DatasetDict, concatenate_datasets
from torch.utils.data import DataLoader
from transformers import AutoTokenizer

from ..baselines import CachedEmbedder, fit_baselines
from ..data import require_classes, split_groups
from ..finetune import score_normalization
from ..metrics import interview_metrics, mean_interval
from ..reporting import classification_report, format_report, plots_for, public, regression_report
from ..runs import claim_output_dir, run_fingerprint
from ..training import (
    TrainResult,
    latest_checkpoint,
    make_accelerator,
    progress,
    remove_checkpoints,
    save_model_folder,
    say_saved,
    train,
)
from ..utils import MINILM_HUB_ID, default_encoder_path, plural, public_name, saved_versions, write_json
from .arguments import DualEncoderArguments
from .card import dual_encoder_card
from .data import InterviewCollator, load_interviews, tokenize_interviews
from .mhim import HardInstanceMasker, strip_meta
from .modeling_dual_encoder import DualEncoderForDepressionScoring
from .pipeline_dual_encoder import DepressionScoringPipeline
from .simulated import SIMULATED_PREFIX
from .turn_cache import TurnEncodingCache


def interview_loaders(data: DatasetDict, tokenizer, args: DualEncoderArguments, config) -> dict[str, DataLoader]:
    """Loaders of the tokenized splits (as the model with `config` reads them), and `train_in_order`."""
    t = args.training
    tokenized = tokenize_interviews(data, tokenizer, config.max_turn_length, config.prompts)
    collator = InterviewCollator(tokenizer.pad_token_id, args.model.num_labels, config.score_threshold)
    loaders = {}
    for split, ds in tokenized.items():
        ds = ds.add_column("index", list(range(len(ds))))
        loaders[split] = DataLoader(
            ds.with_format(
                None, columns=["turn_input_ids", "turn_token_type_ids", "turn_importance", "score", "label", "index"]
            ),
            batch_size=t.batch_size if split == "train" else t.eval_batch_size,
            shuffle=split == "train",
            collate_fn=collator,
            generator=torch.Generator().manual_seed(t.seed),
        )
    loaders["train_in_order"] = DataLoader(loaders["train"].dataset, batch_size=t.eval_batch_size, collate_fn=collator)
    return loaders


def turn_cache_for(model, args: DualEncoderArguments, loaders: dict) -> TurnEncodingCache | None:
    """The run's cache of sentence encodings, filled with every turn of every split (None when switched off with
    --no_turn_cache or when the sentence encoder trains)."""
    if not args.training.turn_cache or model.config.train_sentence_encoder:
        return None
    cache = TurnEncodingCache(model)
    cache.fill({split: loaders[split].dataset for split in ("train", "validation", "test")})
    return cache


def with_turn_cache(prepare, cache: TurnEncodingCache | None):
    """`prepare(batch, step)` applied to batches that carry the cached sentence encodings."""
    if cache is None:
        return prepare
    return lambda batch, step: prepare(cache.attach(batch), step)


@torch.no_grad()
def predict_interviews(model, loader: DataLoader, accelerator: Accelerator, cache: TurnEncodingCache | None = None):
    """Scores, targets, per-interview attention and importance arrays over a (prepared) loader."""
    model.eval()
    scores, targets, attentions, importance = [], [], [], []
    for batch in progress(loader, accelerator, desc="evaluating", unit="batch"):
        out = model(**strip_meta(batch if cache is None else cache.attach(batch), 0))
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


def make_evaluate(num_labels: int, cache: TurnEncodingCache | None = None):
    def evaluate(model, loader, accelerator) -> dict[str, float]:
        scores, targets, attentions, importance = predict_interviews(model, loader, accelerator, cache)
        return interview_metrics(scores, targets, attentions, importance, num_labels=num_labels)

    return evaluate


def build_dual_encoder(args: DualEncoderArguments, train_scores: list[float]) -> DualEncoderForDepressionScoring:
    normalization = {"score_mean": 0.0, "score_std": 1.0, "score_range": None}
    if args.model.num_labels == 1:  # standardise regression targets with the training scores (and keep their range:
        normalization = score_normalization(train_scores)  # intervals keep to it)
    encoder = args.model.encoder or default_encoder_path()
    names = (public_name(encoder), public_name(args.model.sentence_encoder or encoder))
    config = {"length_sorted_chunks": args.training.turn_cache, **args.config}
    return DualEncoderForDepressionScoring.from_encoders(
        encoder, args.model.sentence_encoder, encoder_names=names, num_labels=args.model.num_labels,
        **normalization, **config,
    )


def train_phase(name: str, model, loaders, args: DualEncoderArguments, workdir: Path, prepare_batch, num_epochs: int,
                on_step=None, run_id: str | None = None, cache: TurnEncodingCache | None = None):
    t = args.training
    accelerator = make_accelerator(t)  # one per phase: each phase checkpoints only its own model
    metric = t.metric_for_best_model or ("f1" if args.model.num_labels == 2 else "rmse")
    resume = t.resume_from_checkpoint
    if resume == "latest" and name == "receiver" and latest_checkpoint(workdir / name) is None:
        resume = None  # the run died before Phase 2 saved anything: Phase 2 starts afresh
    accelerator.print(f"\n== {name}: {plural(num_epochs, 'epoch')}")
    start = time.perf_counter()
    model, state = train(
        model, loaders["train"], loaders["validation"], t, accelerator, make_evaluate(args.model.num_labels, cache),
        checkpoint_dir=workdir / name, resume_from_checkpoint=resume, on_step=on_step,
        prepare_batch=with_turn_cache(prepare_batch, cache),
        num_epochs=num_epochs, metric_for_best_model=metric, run_id=run_id, run_name=f"dual_encoder_{name}",
    )
    state.seconds = time.perf_counter() - start  # training wall time, per-epoch validation included
    return model, state, accelerator


def interview_targets(split, args: DualEncoderArguments) -> np.ndarray:
    """What the model is trained on for each interview: the score (regression) or the label (scores at or above
    `score_threshold` where labels are missing)."""
    scores = np.asarray(split["score"], dtype=np.float64)
    if args.model.num_labels == 1:
        return scores
    threshold = float(args.config.get("score_threshold", 10.0))
    return np.array([y if y >= 0 else int(s >= threshold) for y, s in zip(split["label"], scores)])


def responses(split) -> list[list[str]]:
    """Each interview's participant responses: the baselines' documents."""
    return [[turn["response"] for turn in turns] for turns in split["turns"]]


def baseline_scores(data: DatasetDict, args: DualEncoderArguments, embedder: CachedEmbedder | None = None) -> dict:
    """The baselines fitted on the training interviews, scored on the test ones (main process only)."""
    if not PartialState().is_main_process or args.evaluation.baselines == "none":
        return {}
    task = "regression" if args.model.num_labels == 1 else "classification"
    return fit_baselines(responses(data["train"]), interview_targets(data["train"], args), responses(data["test"]),
                         task, args.evaluation.baselines, embedder, args.training.seed)


def phase_report(model, loaders, accelerator, args: DualEncoderArguments, baselines: dict,
                 groups: list | None = None, cache: TurnEncodingCache | None = None) -> tuple[dict, dict]:
    """A trained phase's test report, with calibration and threshold (classification) or split-conformal
    intervals (regression) fitted on validation and written into `model.config`. Returns (report, plots)."""
    ev, seed, num_labels = args.evaluation, args.training.seed, args.model.num_labels
    validation = predict_interviews(model, accelerator.prepare(loaders["validation"]), accelerator, cache)
    scores, targets, attentions, importance = predict_interviews(model, accelerator.prepare(loaders["test"]),
                                                                 accelerator, cache)
    plain = interview_metrics(scores, targets, attentions, importance, num_labels=num_labels)
    common = {"baseline_scores": baselines, "groups": groups, "resamples": ev.bootstrap_resamples, "seed": seed}
    if num_labels == 1:
        report = regression_report(test_y=targets, test_pred=scores, validation_y=validation[1],
                                   validation_pred=validation[0], coverage=ev.coverage, **common)
        model.config.conformal = {k: report["conformal"][k] for k in ("coverage", "quantile")}
    else:
        report = classification_report(
            test_y=targets, test_raw=scores, validation_y=validation[1], validation_raw=validation[0],
            calibration="temperature" if ev.calibration == "auto" else ev.calibration,
            threshold_rule=ev.threshold_rule,
            min_calibration_examples=ev.calibration_min_examples, **common)
        model.config.calibration = report.pop("saved_calibration")
        model.config.decision_threshold = report["threshold"]["decision_threshold"]
        model.config.threshold_rule = report["threshold"]["threshold_rule"]
    report["test"] = {**plain, **report["test"]}
    plots = plots_for(report) if ev.plots and accelerator.is_main_process else {}
    return public(report), plots


def run_phases(data: DatasetDict, tokenizer, args: DualEncoderArguments, output_dir: Path, save: bool,
               on_step=None, run_id: str | None = None, embedder: CachedEmbedder | None = None) -> dict:
    """Phase 1 (and Phase 2 with `mhim`) on one train/validation/test split; saves the folders when `save`."""
    t = args.training
    workdir = output_dir / "checkpoints"
    results: dict[str, Any] = {}
    baselines = baseline_scores(data, args, embedder)
    set_seed(t.seed)  # after the baselines: the donor starts from the same random state with or without them
    donor = build_dual_encoder(args, data["train"]["score"])
    loaders = interview_loaders(data, tokenizer, args, donor.config)
    cache = turn_cache_for(donor, args, loaders)
    encoding = 0.0 if cache is None else cache.seconds  # once per run, counted in Phase 1's time
    donor, state, accelerator = train_phase(
        "donor", donor, loaders, args, workdir, strip_meta, t.num_epochs, on_step, run_id, cache
    )
    groups = split_groups(data["test"])
    report, plots = phase_report(donor, loaders, accelerator, args, baselines, groups, cache)
    results["donor"] = {**report, "validation_history": state.history, "best_epoch": state.best_epoch,
                        "train_seconds": state.seconds + encoding, "turn_encoding_seconds": encoding}
    folders = results["folders"] = []
    if save and accelerator.is_main_process:
        folders.append(
            save_scoring_model(donor, tokenizer, output_dir / "donor", results["donor"], args, "donor (Phase 1)",
                               run_id, plots, describe_data(args, data), data)
        )
    results["models"] = {"donor": donor}
    if t.mhim:
        m = args.mhim
        set_seed(t.seed + 1)
        if m.receiver_init == "donor":
            receiver = DualEncoderForDepressionScoring(copy.deepcopy(donor.config))  # own config: it gets `mhim`
            receiver.load_state_dict(donor.state_dict())
        else:
            receiver = build_dual_encoder(args, data["train"]["score"])
        receiver.config.mhim = {**asdict(m), "receiver_epochs": m.receiver_epochs or t.num_epochs}
        masker = HardInstanceMasker(donor.to(accelerator.device), m.mask_top, m.mask_bottom, seed=t.seed,
                                    teacher=m.teacher, receiver=receiver, ema_decay=m.ema_decay)
        start = time.perf_counter()
        if m.teacher == "frozen":
            masker.cache_attention(
                progress(loaders["train_in_order"], accelerator, desc="donor attention", unit="batch"),
                None if cache is None else cache.attach,
            )
        caching = time.perf_counter() - start
        receiver, state, accelerator = train_phase(
            "receiver", receiver, loaders, args, workdir, masker, m.receiver_epochs or t.num_epochs, on_step, run_id,
            cache,
        )
        report, plots = phase_report(receiver, loaders, accelerator, args, baselines, groups, cache)
        results["receiver"] = {**report, "validation_history": state.history, "best_epoch": state.best_epoch,
                               "train_seconds": state.seconds + caching, "donor_attention_seconds": caching}
        results["receiver_entropy_higher"] = (report["test"]["attention_entropy"]
                                              > results["donor"]["test"]["attention_entropy"])
        results["models"]["receiver"] = receiver
        if save and accelerator.is_main_process:
            folders.append(save_scoring_model(receiver, tokenizer, output_dir / "receiver", results["receiver"], args,
                                              "receiver (Phase 2, MHIM)", run_id, plots, describe_data(args, data),
                                              data))
    if save:
        remove_checkpoints(accelerator, t)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def explanation_checks(model, tokenizer, data: DatasetDict, args: DualEncoderArguments) -> dict:
    """The faithfulness check and the shortcut audit on the test interviews (depdetect.inference.training_checks),
    with the calibration, threshold and intervals just fitted."""
    from ..inference import training_checks
    from .predictor import check_record

    records = [check_record(row, f"test interview {i}", True) for i, row in enumerate(data["test"])]
    scorer = DepressionScoringPipeline(model=model.eval(), tokenizer=tokenizer, device=model.device)
    return training_checks("dual_encoder", scorer, records, args.evaluation, args.training.seed)


def describe_data(args: DualEncoderArguments, data: DatasetDict) -> str:
    """What the card says about the training data; SIMULATED interviews (depdetect.dual_encoder.simulated, ids
    `rmhd-sim-...`) are named as such."""
    if all(str(i).startswith(SIMULATED_PREFIX) for i in data["train"]["interview_id"]):
        return (f"**SIMULATED interviews** ({args.data.describe()}): neutral interviewer questions paired with the "
                "first sentences of real RMHD Reddit posts; the score is 3 points per response from r/depression or "
                "r/suicidewatch (0-24), so the deciding turns are known by construction. Results on them say "
                "whether the attention finds known deciding turns, not how the model does on clinical interviews.")
    return f"User-supplied interviews ({args.data.describe()})."


def save_scoring_model(model, tokenizer, folder: Path, metrics: dict, args: DualEncoderArguments, role: str,
                       run_id: str | None = None, plots: dict | None = None, data_description: str = "",
                       data: DatasetDict | None = None) -> Path:
    """Save one phase's Hub-ready folder and print its test report; with `data`, the explanation checks on its test
    split are run after the report and added to `metrics` (and so to metrics.json and the card)."""
    prefix = MINILM_HUB_ID if args.model.encoder is None else public_name(args.model.encoder)
    sentence = prefix
    if args.model.sentence_encoder not in (None, args.model.encoder):
        sentence = public_name(args.model.sentence_encoder)
    payload = {**metrics, "role": role, "mhim": model.config.mhim, "run_id": run_id}
    payload["card"] = {  # what the model card says (push rebuilds the card from it)
        "data_description": data_description or f"User-supplied interviews ({args.data.describe()}).",
        "training_description": f"{plural(len(metrics['validation_history']), 'epoch')}, "
                                f"batch {args.training.batch_size}, "
                                f"lr {args.training.learning_rate}",
        "encoders": [prefix, sentence],
        "base_model": MINILM_HUB_ID if args.model.encoder is None else None,
        "dataset_name": args.data.describe(),
        "dataset_type": "custom",
        "versions": saved_versions(),
    }
    print("\n" + format_report(payload, f"{role}: test metrics"))
    if data is not None:
        checks = explanation_checks(model, tokenizer, data, args)
        metrics.update(checks)
        payload.update(checks)
    save_model_folder(model, tokenizer, folder, payload, dual_encoder_card, "dual_encoder", extra_files=plots)
    return folder


def fold_splits(data: DatasetDict, folds: int, seed: int):
    """Stratified K folds over all given interviews (by label, or by score quartile when labels are missing).

    Yields (k, DatasetDict): the fold is the test split; 15% of the rest (stratified) is the validation split
    that picks the best epoch.
    """
    from sklearn.model_selection import StratifiedKFold

    pooled = concatenate_datasets([data[s] for s in data])
    labels = np.asarray(pooled["label"])
    strata = (
        labels if labels.min() >= 0 else np.digitize(pooled["score"], np.quantile(pooled["score"], [0.25, 0.5, 0.75]))
    )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (rest, test) in enumerate(splitter.split(np.zeros(len(pooled)), strata)):
        parts = pooled.select(rest).train_test_split(
            test_size=0.15, seed=seed, stratify_by_column="label" if labels.min() >= 0 else None
        )
        yield k, DatasetDict(train=parts["train"], validation=parts["test"], test=pooled.select(test))


def summarize(per_fold: list[dict]) -> dict:
    """Mean, standard deviation and the 95% Student-t interval of the mean over folds of each role's test metrics
    (conformal coverage and interval width included) and of its gain over the better baseline."""
    summary = {}
    for role in ("donor", "receiver"):
        if role not in per_fold[0]:
            continue
        summary[role] = {}
        rows = {key: [f[role]["test"].get(key) for f in per_fold] for key in per_fold[0][role]["test"]}
        if all(f[role].get("gain_over_baseline") for f in per_fold):
            rows["gain_over_baseline"] = [f[role]["gain_over_baseline"]["gain"] for f in per_fold]
        for key, row in rows.items():
            values = np.array([math.nan if v is None else v for v in row], dtype=np.float64)
            values = values[np.isfinite(values)]  # e.g. Recall@k where no fold has importance labels
            summary[role][key] = {"mean": float(values.mean()) if values.size else math.nan,
                                  "std": float(values.std()) if values.size else math.nan,
                                  "interval_of_mean": mean_interval(values), "folds": int(values.size)}
    return summary


def claim(args: DualEncoderArguments, dataset: DatasetDict | None) -> str:
    """This run's id, with OUTPUT_DIR claimed for it (depdetect.runs)."""
    t = args.training
    run_id = run_fingerprint(args, dataset)
    state = PartialState(cpu=t.cpu)  # the first state made decides the backend: as make_accelerator would
    claim_output_dir(t.output_dir, run_id, overwrite=t.overwrite_output_dir, resume=bool(t.resume_from_checkpoint),
                     main_process=state.is_main_process)
    state.wait_for_everyone()
    return run_id


def check_trainable(train, args: DualEncoderArguments) -> None:
    """Refuse training interviews that cannot teach the model: one class, or one score for all."""
    scores = np.asarray(train["score"], dtype=np.float64)
    if args.model.num_labels == 2:
        require_classes(interview_targets(train, args).tolist(), ["control", "depression"], "The training interviews")
    elif np.isnan(scores).all() or np.nanstd(scores) == 0:
        same = "no score" if np.isnan(scores).all() else f"score {np.nanmax(scores):g}"
        raise ValueError(f"The {len(scores)} training interviews all have {same}; a severity regressor needs "
                         "different scores. Check the `score` field.")


def _load(args: DualEncoderArguments, dataset: DatasetDict | None):
    data = dataset if dataset is not None else load_interviews(args.data, seed=args.training.seed)
    check_trainable(data["train"], args)
    tokenizer = AutoTokenizer.from_pretrained(args.model.encoder or default_encoder_path())
    tokenizer.padding_side = "right"
    return data, tokenizer


def cross_validate(args: DualEncoderArguments, *, dataset: DatasetDict | None = None) -> TrainResult:
    """Stratified K-fold cross-validation (`args.training.folds`): each fold is the test set once."""
    data, tokenizer = _load(args, dataset)
    run_id = claim(args, dataset)
    folds, output_dir = args.training.folds, Path(args.training.output_dir)
    per_fold, embedder = [], CachedEmbedder()  # the baselines embed each response once across folds
    for k, fold in fold_splits(data, folds, args.training.seed):
        say(f"\n#### fold {k + 1}/{folds}: {len(fold['train'])} train / {len(fold['validation'])} validation / "
            f"{len(fold['test'])} test")
        result = run_phases(fold, tokenizer, args, output_dir / f"fold_{k}", save=False, run_id=f"{run_id}-fold{k}",
                            embedder=embedder)
        result.pop("models"), result.pop("folders")
        per_fold.append(result)
        shutil.rmtree(output_dir / f"fold_{k}", ignore_errors=True)
    results = {"folds": folds, "per_fold": per_fold, "summary": summarize(per_fold), "run_id": run_id}
    if PartialState().is_main_process:
        write_json(output_dir / "cv_metrics.json", results)
    print_summary(results["summary"])
    say(f"Saved the cross-validation results to {output_dir / 'cv_metrics.json'}.")
    return TrainResult(metrics=results, output_dir=output_dir)


def train_dual_encoder(args: DualEncoderArguments | None = None, *, dataset: DatasetDict | None = None,
                       on_step=None, save: bool = True) -> TrainResult:
    """Phase 1 (donor) and, with `args.training.mhim`, Phase 2 (receiver) on one split; with `folds`, K-fold
    cross-validation instead. `dataset` (an interviews DatasetDict) replaces loading `args.data`; `save=False`
    keeps no folders (the benchmarks' folds)."""
    args = args or DualEncoderArguments()
    if args.training.folds:
        return cross_validate(args, dataset=dataset)
    data, tokenizer = _load(args, dataset)
    run_id = claim(args, dataset) if save else run_fingerprint(args, dataset)
    output_dir = Path(args.training.output_dir)
    results = run_phases(data, tokenizer, args, output_dir, save=save, on_step=on_step, run_id=run_id)
    models, folders = results.pop("models"), results.pop("folders")
    print_summary({role: {k: {"mean": v} for k, v in results[role]["test"].items()}
                   for role in ("donor", "receiver") if role in results})
    if "receiver_entropy_higher" in results:
        say("Receiver attention entropy higher than the donor's (the paper's claim): "
            f"{results['receiver_entropy_higher']}")
    say_saved(folders, PartialState().is_main_process)
    return TrainResult(metrics=results, output_dir=output_dir, models=models)


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
            if "interval_of_mean" in value and math.isfinite(value["interval_of_mean"][0]):
                low, high = value["interval_of_mean"]
                text += f" (mean in [{low:.4f}, {high:.4f}])"
            parts.append(f"{key}={text}")
        say(f"{role} test: " + ", ".join(parts))
