"""The one Accelerate training loop used by depdetect's torch models, and what both torch recipes share.

Mixed precision, gradient accumulation, AdamW with separate encoder / head learning rates, linear warm-up,
`gather_for_metrics`, the best epoch chosen by a validation metric, and checkpoints that a killed run resumes
from mid-epoch with the same result as an uninterrupted run (same seed). Settings: `TrainingArguments`
(depdetect.arguments), subclassed by each system with its paper's values.

A model plugs in by taking a batch dict (with `labels`) and returning an object with `.loss`; evaluation is a
function of (model, dataloader, accelerator) returning named metrics, and `prepare_batch` may rewrite each
training batch (MHIM adds its instance mask there).
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration
from safetensors.torch import load_model, save_model
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from .arguments import TRACKERS, TrainingArguments
from .extras import importable
from .runs import TrainResult, artifact_hashes, saving_folder, say_saved  # noqa: F401 (re-exported)
from .utils import format_number, read_json, write_files, write_json, write_text, writing

logger = logging.getLogger(__name__)

#: validation metrics whose lower values are better (the best epoch is their minimum)
LOWER_IS_BETTER = ("rmse", "mae", "loss")

STATE_FILE = "train_state.json"

#: where --report_to's trackers that write files write them, inside OUTPUT_DIR (never published: depdetect.hub)
LOGS_DIR = "logs"


@dataclass
class TrainState:
    """What a checkpoint needs beyond the accelerator's state: where in the data we are, and the best so far."""

    global_step: int = 0
    epoch: int = 0
    batches_done_in_epoch: int = 0
    epoch_loss_sum: float = 0.0
    best_metric: float | None = None
    best_epoch: int | None = None
    history: list[dict] = field(default_factory=list)
    run_id: str | None = None  # the run this checkpoint belongs to (depdetect.runs.run_fingerprint)


def make_accelerator(args: TrainingArguments) -> Accelerator:
    """The run's Accelerator; the seedable sampler makes each epoch's shuffle a function of (seed, epoch). With
    `report_to`, Accelerate's trackers log to OUTPUT_DIR/logs (those that write files there)."""
    trackers = args.trackers()
    for name in trackers:
        if not any(importable(package) for package in TRACKERS[name]):
            raise ValueError(f"--report_to {name} needs the {TRACKERS[name][0]} package: pip install "
                             f"{TRACKERS[name][0]} (or leave {name} out of --report_to).")
    return Accelerator(
        cpu=args.cpu,
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
        log_with=trackers or None,
        project_dir=str(Path(args.output_dir) / LOGS_DIR) if trackers else None,
    )


def start_tracking(accelerator: Accelerator, config: TrainingArguments, run_name: str) -> bool:
    """Start the run's trackers (none without `report_to`) with the training arguments as hyper-parameters; wandb
    offline unless WANDB_MODE is set. Returns whether any tracker logs."""
    if not accelerator.log_with:
        return False
    hyperparameters = {k: v for k, v in asdict(config).items() if isinstance(v, (int, float, str, bool))}
    init_kwargs = {} if "WANDB_MODE" in os.environ else {"wandb": {"mode": "offline"}}
    accelerator.init_trackers(run_name, config=hyperparameters, init_kwargs=init_kwargs)
    return True


def log_metrics(accelerator: Accelerator, values: dict, step: int) -> None:
    """Log the finite numbers of `values` to the run's trackers (a no-op without trackers)."""
    if accelerator.trackers:
        numbers = {k: float(v) for k, v in values.items()
                   if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                   and math.isfinite(float(v))}
        accelerator.log(numbers, step=step)


def progress(iterable, accelerator: Accelerator | None = None, **kwargs):
    """Yield from `iterable` with a tqdm bar on the main process only (stderr).

    The bar is given a total, not the iterable: tqdm.auto's console bar calls iter() on what it wraps, and a
    DataLoader without its own generator draws its base seed from the global torch RNG on each iter(), which would
    shift the dropout of everything trained after it.
    """
    main = accelerator.is_local_main_process if accelerator is not None else True
    bar = tqdm(total=len(iterable), disable=not main, leave=False, **kwargs)
    for item in iterable:
        yield item
        bar.update(1)
    bar.close()


def parameter_groups(
    model: torch.nn.Module, config: TrainingArguments, encoder_prefix: str = "encoder."
) -> list[dict]:
    """AdamW groups: encoder vs new layers (own learning rates), no weight decay on biases and norms."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_encoder = name.startswith(encoder_prefix)
        no_decay = param.ndim < 2 or "norm" in name.lower()
        groups.setdefault((is_encoder, no_decay), []).append(param)
    encoder_lr = config.encoder_learning_rate if config.encoder_learning_rate is not None else config.learning_rate
    return [
        {
            "params": params,
            "lr": encoder_lr if is_encoder else config.learning_rate,
            "weight_decay": 0.0 if no_decay else config.weight_decay,
        }
        for (is_encoder, no_decay), params in sorted(groups.items())
    ]


@torch.no_grad()
def predict(model: torch.nn.Module, dataloader: DataLoader, accelerator: Accelerator) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities and labels over a (prepared) dataloader, gathered from all processes."""
    model.eval()
    all_probs, all_labels = [], []
    for batch in progress(dataloader, accelerator, desc="evaluating", unit="batch"):
        logits = model(**batch).logits
        probs, labels = accelerator.gather_for_metrics((logits.float().softmax(-1), batch["labels"]))
        all_probs.append(probs.cpu().numpy())
        all_labels.append(labels.cpu().numpy())
    return np.concatenate(all_probs), np.concatenate(all_labels)


def _checkpoints(output_dir: Path) -> list[Path]:
    found = [p for p in output_dir.glob("step_*") if (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(re.sub(r"\D", "", p.name)))


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint under `output_dir`, or None."""
    found = _checkpoints(Path(output_dir))
    return found[-1] if found else None


def train(
    model: torch.nn.Module,
    train_loader: DataLoader,
    eval_loader: DataLoader,
    config: TrainingArguments,
    accelerator: Accelerator,
    evaluate_fn: Callable[[torch.nn.Module, DataLoader, Accelerator], dict[str, float]],
    checkpoint_dir: str | Path,
    resume_from_checkpoint: str | None = None,
    on_step: Callable[[int], None] | None = None,
    prepare_batch: Callable[[dict, int], dict] | None = None,
    num_epochs: int | None = None,
    metric_for_best_model: str | None = None,
    run_id: str | None = None,
    run_name: str = "train",
) -> tuple[torch.nn.Module, TrainState]:
    """Train, evaluate each epoch, and return the unwrapped model with the best epoch's weights loaded.

    Args:
        checkpoint_dir: working folder of the run: resumable checkpoints (`step_N/`) and the best weights
            (`best.safetensors`).
        resume_from_checkpoint: a checkpoint folder, or "latest" for the newest one under `checkpoint_dir`.
        evaluate_fn: scores the model on the validation loader once per epoch.
        on_step: called with the global step after each optimiser step (tests use it to kill a run).
        prepare_batch: called as `prepare_batch(batch, global_step)` on each training batch before the forward.
        num_epochs / metric_for_best_model: override `config`'s (a second training phase, a derived metric).
        run_id: this run's id (`depdetect.runs.run_fingerprint`): written into each checkpoint; resuming a
            checkpoint of another run is refused.
        run_name: the trackers' name for this run (`report_to`).
    """
    num_epochs = num_epochs or config.num_epochs
    metric = metric_for_best_model or config.metric_for_best_model
    output_dir = Path(checkpoint_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run = _prepare(model, train_loader, eval_loader, config, accelerator, num_epochs, output_dir)
    state = _resume(run, resume_from_checkpoint, run_id)
    tracking = start_tracking(accelerator, config, run_name)
    progress = tqdm(
        total=run.total_steps, initial=state.global_step, desc="training",
        disable=not accelerator.is_local_main_process,
    )
    for epoch in range(state.epoch, num_epochs):
        if config.max_steps and state.global_step >= config.max_steps:
            break
        if _stop_early(state, config.early_stopping_patience, accelerator):
            break
        seconds = _train_epoch(run, state, epoch, progress, prepare_batch, on_step)
        _evaluate_epoch(run, state, epoch, seconds, evaluate_fn, metric)
        state.epoch, state.batches_done_in_epoch, state.epoch_loss_sum = epoch + 1, 0, 0.0
        _save_checkpoint(accelerator, output_dir, state, config.keep_checkpoints)
    progress.close()
    if tracking:
        accelerator.end_training()
    return _best_model(run), state


@dataclass
class _Run:
    """What the phases of one `train` call share: the prepared objects and where the run writes."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    train_loader: DataLoader
    eval_loader: DataLoader
    accelerator: Accelerator
    config: TrainingArguments
    output_dir: Path
    total_steps: int

    @property
    def best_path(self) -> Path:
        return self.output_dir / "best.safetensors"


def _prepare(model, train_loader, eval_loader, config: TrainingArguments, accelerator: Accelerator, num_epochs: int,
             output_dir: Path) -> _Run:
    """Optimiser and linear warm-up schedule, everything passed through `accelerator.prepare`."""
    optimizer = torch.optim.AdamW(parameter_groups(model, config))
    model, optimizer, train_loader, eval_loader = accelerator.prepare(model, optimizer, train_loader, eval_loader)
    # counted on this process's shard of the data, after prepare()
    updates_per_epoch = math.ceil(len(train_loader) / config.gradient_accumulation_steps)
    total_steps = updates_per_epoch * num_epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    # the prepared scheduler steps once per process for each optimiser step, hence the factor
    processes = accelerator.num_processes
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps) * processes, total_steps * processes
    )
    scheduler = accelerator.prepare(scheduler)
    return _Run(model, optimizer, scheduler, train_loader, eval_loader, accelerator, config, output_dir, total_steps)


def _resume(run: _Run, resume_from_checkpoint: str | None, run_id: str | None) -> TrainState:
    """A fresh state, or the state of the checkpoint to resume (refused when it belongs to another run)."""
    state = TrainState(run_id=run_id)
    if not resume_from_checkpoint:
        return state
    output_dir = run.output_dir
    path = latest_checkpoint(output_dir) if resume_from_checkpoint == "latest" else Path(resume_from_checkpoint)
    if path is None or not (path / STATE_FILE).is_file():
        raise FileNotFoundError(
            f"No checkpoint to resume from at {resume_from_checkpoint!r} (looked for {STATE_FILE}); "
            f"checkpoints live in {output_dir}."
        )
    try:
        saved = read_json(path / STATE_FILE)
        state = TrainState(**saved)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path / STATE_FILE} is not a depdetect checkpoint state ({err}).") from err
    if run_id is not None and state.run_id is None:
        raise ValueError(
            f"Checkpoint {path} records no run id (written by depdetect < 0.3), so it cannot be checked to belong "
            "to this run. Start afresh with --overwrite_output_dir."
        )
    if run_id is not None and state.run_id != run_id:
        raise ValueError(
            f"Checkpoint {path} belongs to run {state.run_id}, not to this run ({run_id}): its "
            "data or model arguments differ. Resume with that run's arguments, or start afresh with "
            "--overwrite_output_dir."
        )
    run.accelerator.load_state(str(path))
    run.accelerator.print(f"Resumed from {path} (epoch {state.epoch + 1}, step {state.global_step}).")
    return state


def _train_epoch(run: _Run, state: TrainState, epoch: int, progress, prepare_batch, on_step) -> float:
    """One epoch of optimiser steps (after the batches a resumed checkpoint already did); returns this process's
    training seconds."""
    accelerator, config, model, train_loader = run.accelerator, run.config, run.model, run.train_loader
    model.train()
    train_loader.set_epoch(epoch)
    skip = state.batches_done_in_epoch if epoch == state.epoch else 0
    batches = train_loader
    if skip:
        batches = accelerator.skip_first_batches(train_loader, skip)
        batches.set_epoch(epoch)  # a fresh loader starts at epoch 0: keep this epoch's shuffle order
    if not skip:
        state.epoch_loss_sum = 0.0
    state.epoch, state.batches_done_in_epoch = epoch, skip
    running, epoch_start = [], time.perf_counter()
    for batch in batches:
        if prepare_batch is not None:
            batch = prepare_batch(batch, state.global_step)
        with accelerator.accumulate(model):
            loss = model(**batch).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients and config.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            run.optimizer.step()
            run.scheduler.step()
            run.optimizer.zero_grad()
        state.batches_done_in_epoch += 1
        running.append(loss.detach().float().item())
        state.epoch_loss_sum += running[-1]
        if not accelerator.sync_gradients:
            continue
        state.global_step += 1
        log_metrics(accelerator, {"train/loss": np.mean(running[-config.gradient_accumulation_steps:]),
                                  "train/learning_rate": run.scheduler.get_last_lr()[0]}, state.global_step)
        progress.update(1)
        progress.set_postfix(loss=f"{np.mean(running[-20:]):.4f}", epoch=epoch + 1)
        if config.checkpointing_steps and state.global_step % config.checkpointing_steps == 0:
            _save_checkpoint(accelerator, run.output_dir, state, config.keep_checkpoints)
        if on_step is not None:
            on_step(state.global_step)
        if config.max_steps and state.global_step >= config.max_steps:
            break
    return time.perf_counter() - epoch_start  # validation excluded


def _evaluate_epoch(run: _Run, state: TrainState, epoch: int, seconds: float, evaluate_fn, metric: str) -> None:
    """Score the epoch on validation, record it in the history, and keep its weights when they are the best."""
    accelerator = run.accelerator
    metrics = evaluate_fn(run.model, run.eval_loader, accelerator)
    train_loss = state.epoch_loss_sum / state.batches_done_in_epoch if state.batches_done_in_epoch else math.nan
    if accelerator.num_processes > 1:  # each process saw its share of the batches: the mean over all of them
        train_loss = float(accelerator.reduce(torch.tensor(train_loss, device=accelerator.device), "mean"))
    record = {"epoch": epoch + 1, "step": state.global_step, "train_loss": train_loss, "train_seconds": seconds}
    record.update({f"eval_{k}": v for k, v in metrics.items()})
    state.history.append(record)
    log_metrics(accelerator, {"train/epoch_loss": train_loss, "epoch": epoch + 1,
                              **{f"eval/{k}": v for k, v in metrics.items()}}, state.global_step)
    if metric not in metrics:
        raise ValueError(
            f"metric_for_best_model={metric!r} is not among the validation metrics {sorted(metrics)}; pick one "
            "of them."
        )
    value = metrics[metric]
    greater_is_better = metric not in LOWER_IS_BETTER
    better = state.best_metric is None or (
        value > state.best_metric if greater_is_better else value < state.best_metric
    )
    if better and not math.isnan(value):
        state.best_metric, state.best_epoch = float(value), epoch + 1
        if accelerator.is_main_process:
            with writing(run.best_path):
                save_model(accelerator.unwrap_model(run.model), str(run.best_path))
    accelerator.print(
        f"epoch {epoch + 1}: " + ", ".join(f"{k}={format_number(v)}" for k, v in metrics.items())
        + (" (best)" if better else "")
    )


def _stop_early(state: TrainState, patience: int, accelerator: Accelerator) -> bool:
    """True when the best epoch is `patience` or more epochs behind the last one (patience 0: never). Read from the
    state alone, so a resumed run stops where an uninterrupted one would."""
    if not patience or state.best_epoch is None or state.epoch - state.best_epoch < patience:
        return False
    accelerator.print(f"Early stopping: no better validation score for {patience} epoch(s) after epoch "
                      f"{state.best_epoch}; keeping epoch {state.best_epoch}.")
    return True


def _best_model(run: _Run) -> torch.nn.Module:
    """The unwrapped model with the best epoch's weights loaded."""
    run.accelerator.wait_for_everyone()
    unwrapped = run.accelerator.unwrap_model(run.model)
    if run.best_path.is_file():
        load_model(unwrapped, str(run.best_path))  # read on the CPU, copied into the parameters where they live
    return unwrapped


def _save_checkpoint(accelerator: Accelerator, output_dir: Path, state: TrainState, keep: int) -> None:
    path = output_dir / f"step_{state.global_step}"
    try:
        with writing(path):
            accelerator.save_state(str(path))
            if accelerator.is_main_process:
                write_json(path / STATE_FILE, asdict(state))
    except OSError:
        shutil.rmtree(path, ignore_errors=True)  # half a checkpoint: the previous one stays the one to resume from
        raise
    if accelerator.is_main_process:
        for old in _checkpoints(output_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


# -- what both torch recipes do with a trained model --------------------------------------------------------------


def save_model_folder(model, tokenizer, folder: str | Path, metrics: dict, card, kind: str,
                      extra_files: dict[str, bytes] | None = None) -> None:
    """The Hub-ready folder: safetensors weights, config with auto_map and custom_pipelines, remote code, the
    tokenizer, `extra_files` ({relative path: bytes}, the plots), metrics.json (with the hashes of the weights it
    describes) and the model card (`card(config, metrics, repo_or_path=...)`). Written beside `folder` and moved
    into place when complete."""
    folder = Path(folder)
    model = model.to("cpu").eval()
    with saving_folder(folder) as tmp:
        model.save_pretrained(str(tmp))  # also writes custom_pipelines and the pipeline file
        tokenizer.save_pretrained(str(tmp))
        write_files(tmp, extra_files)
        metrics["plots"] = sorted(extra_files or {})
        metrics["artifacts"] = artifact_hashes(tmp, kind)
        write_json(tmp / "metrics.json", metrics)
        write_text(tmp / "README.md", str(card(model.config, metrics, repo_or_path=str(folder))))


def remove_checkpoints(accelerator: Accelerator, args: TrainingArguments) -> None:
    """Delete a finished run's checkpoints (they hold pickled optimiser states) unless asked to keep them."""
    if accelerator.is_main_process and not args.keep_checkpoints_after_training:
        shutil.rmtree(Path(args.output_dir) / "checkpoints", ignore_errors=True)
