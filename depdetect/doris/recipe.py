"""Fit, evaluate, save and predict with DORIS: `fit_doris(DorisArguments(...))`.

Steps: `load_users` (data.py: users JSONL / a dataset / the simulated RMHD cohort), `build_pipeline`, fit, evaluate
on validation and test, the Hub-ready folder (config, trees, metrics.json, card). Under `accelerate launch` the
embedding, annotation and summaries are split across the processes; the main process writes the output. The
command line (`depdetect train doris`) and the benchmarks call `fit_doris`; `depdetect predict/evaluate` call
`load_predictor`, `check_record` and `predict`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from accelerate import PartialState

from ..baselines import CachedEmbedder, fit_baselines
from ..data import split_groups
from ..embedder import SentenceTransformerEmbedder
from ..reporting import classification_report, format_report, plots_for, public
from ..runs import TrainResult, claim_output_dir, run_fingerprint, say_saved
from ..utils import MINILM_HUB_ID, json_safe, plural
from .annotators import make_annotator
from .arguments import DorisArguments
from .card import doris_card
from .data import load_users
from .pipeline import DorisPipeline

SIMULATED_DESCRIPTION = (
    "A SIMULATED cohort of {users} users (seed {seed}) built from the real RMHD sample posts (Low et al. 2020, "
    "shipped by construct-tracker 1.0.16): depressed users (1:19) draw a minority of their posts from r/depression "
    "and r/suicidewatch, the rest from non-clinical subreddits; control users post in non-clinical subreddits with "
    "an occasional post from other mental-health subreddits. Real posts, simulated users: results do not transfer "
    "to real user timelines."
)


def build_pipeline(args: DorisArguments) -> DorisPipeline:
    config = args.config
    config.xgboost = asdict(args.xgboost)
    run = args.run
    embedder = SentenceTransformerEmbedder(run.encoder, batch_size=run.embed_batch_size,
                                           device="cpu" if run.cpu else None)
    kwargs = {}
    if config.annotator.startswith("openai:"):
        kwargs = {"api_key_env": args.llm.api_key_env, "concurrency": args.llm.llm_concurrency,
                  "timeout": args.llm.llm_timeout}
    annotator = make_annotator(config.annotator, symptoms=config.symptoms, **kwargs)
    cache_dir = run.cache_dir or f"{run.output_dir.rstrip('/')}-cache"
    return DorisPipeline(config, embedder=embedder, annotator=annotator, cache_dir=cache_dir,
                         state=PartialState(cpu=run.cpu))


def card_section(args: DorisArguments, pipeline: DorisPipeline, num_users: int) -> dict:
    """What the model card says about data and training (push rebuilds the card from it)."""
    data, xgb = args.data, pipeline.config.xgboost
    return {
        "data_description": (
            f"User-supplied data ({data.describe()})."
            if data.user_supplied
            else SIMULATED_DESCRIPTION.format(users=num_users, seed=args.config.seed)
        ),
        "training_description": (
            f"k={pipeline.config.k}%, m={pipeline.config.m}%, annotator {pipeline.config.annotator}, "
            + (f"XGBoost {xgb.get('n_estimators')} trees (depth {xgb.get('max_depth')}, lr {xgb.get('learning_rate')})"
               if pipeline.config.head == "trees" else "an L2-regularised logistic regression")
            + f" (head chosen: {pipeline.config.head}), seed {args.config.seed}"
        ),
        "dataset_name": data.describe()
        if data.user_supplied
        else "Simulated RMHD user cohort (construct-tracker 1.0.16)",
        "dataset_type": "custom" if data.user_supplied else "rmhd-simulated-users",
    }


def post_texts(split) -> list[list[str]]:
    """Each user's post texts: the baselines' documents."""
    return [[post["text"] for post in posts] for posts in split["posts"]]


def stage(message: str, main_process: bool = True) -> None:
    """A line on stderr as each stage of a long run starts (the progress bars show the steps within)."""
    if main_process:
        print(f"DORIS: {message} ...", file=sys.stderr, flush=True)


def calibrate_and_report(pipeline: DorisPipeline, data, args: DorisArguments, main_process: bool) -> tuple[dict, dict]:
    """Platt scaling and the threshold fitted on validation users (saved in the pipeline's config), and the test
    report with bootstrap intervals (users resampled), ECE/Brier before and after, and the baselines (fitted on
    the training users; the embedding baseline reuses the pipeline's cached post embeddings)."""
    ev, seed = args.evaluation, args.config.seed
    stage(f"scoring {plural(len(data['validation']), 'validation user')} and {plural(len(data['test']), 'test user')}",
          main_process)
    validation_raw = pipeline.predict_proba(data["validation"], calibrated=False)
    test_raw = pipeline.predict_proba(data["test"], calibrated=False)
    stage(f"baselines ({ev.baselines}), calibration and the test report ({ev.bootstrap_resamples} bootstrap "
          "resamples)", main_process)
    baselines = fit_baselines(post_texts(data["train"]), data["train"]["label"], post_texts(data["test"]),
                              which=ev.baselines, embedder=CachedEmbedder(pipeline.embed), seed=seed)
    report = classification_report(
        test_y=data["test"]["label"], test_raw=test_raw, validation_y=data["validation"]["label"],
        validation_raw=validation_raw, calibration="platt" if ev.calibration == "auto" else ev.calibration,
        threshold_rule=ev.threshold_rule, baseline_scores=baselines, groups=split_groups(data["test"]),
        resamples=ev.bootstrap_resamples, seed=seed, min_calibration_examples=ev.calibration_min_examples,
    )
    pipeline.config.calibration = report.pop("saved_calibration") or {}
    pipeline.config.decision_threshold = report["threshold"]["decision_threshold"]
    pipeline.config.threshold_rule = report["threshold"]["threshold_rule"]
    plots = plots_for(report) if ev.plots and main_process else {}
    return public(report), plots


def explanation_checks(pipeline: DorisPipeline, data, args: DorisArguments) -> dict:
    """The faithfulness check and the shortcut audit on the test users (depdetect.inference.training_checks). With
    an LLM annotator the faithfulness check is skipped: every shortened history would need new LLM summaries (run
    `depdetect evaluate --faithfulness` on the saved folder, which uses the offline annotator)."""
    from ..inference import training_checks
    from .predictor import check_record

    evaluation = args.evaluation
    skipped = {}
    if evaluation.faithfulness and pipeline.annotator.uses_llm:
        evaluation = replace(evaluation, faithfulness=False)
        skipped = {"faithfulness_skipped": "an LLM annotator: each shortened history would need new LLM summaries"}
    records = [check_record(row, f"test user {i}", True) for i, row in enumerate(data["test"])]
    return {**training_checks("doris", pipeline, records, evaluation, args.config.seed), **skipped}


def fit_doris(args: DorisArguments | None = None, *, dataset=None) -> TrainResult:
    """Fit DORIS on the training users, evaluate on validation and test, save a Hub-ready folder.

    `dataset` (a users DatasetDict) replaces loading `args.data`. Returns the metrics (as written to metrics.json),
    the folder and the fitted pipeline.
    """
    args = args or DorisArguments()
    state = PartialState(cpu=args.run.cpu)
    data = dataset if dataset is not None else load_users(args.data, seed=args.config.seed,
                                                          cohort_users=args.data.cohort_users)
    run_id = run_fingerprint(args, dataset)
    claim_output_dir(args.run.output_dir, run_id, overwrite=args.run.overwrite_output_dir,
                     main_process=state.is_main_process)
    state.wait_for_everyone()
    pipeline = build_pipeline(args)
    posts = sum(len(u) for u in data["train"]["posts"])
    stage(f"fitting on {plural(len(data['train']), 'training user')} ({plural(posts, 'post')}): embedding, "
          f"annotating the top {pipeline.config.k:g}% by risk, mood courses, the head ({pipeline.config.head})",
          state.is_main_process)
    pipeline.fit(data["train"])
    fit_stats = dict(pipeline.stats)
    report, plots = calibrate_and_report(pipeline, data, args, state.is_main_process)
    validation = pipeline.evaluate(data["validation"])
    stats = dict(pipeline.stats)
    llm_calls = pipeline.annotator.calls
    if state.num_processes > 1:  # each process asked for its own share
        from accelerate.utils import gather_object

        llm_calls = sum(gather_object([llm_calls]))
    metrics = {
        **report,
        "validation": validation,
        "annotation": {
            "annotator": pipeline.config.annotator,
            "train_posts": fit_stats.get("posts", 0),
            "train_posts_annotated": fit_stats.get("posts_annotated", 0),
            "posts": stats.get("posts", 0),
            "posts_annotated": stats.get("posts_annotated", 0),
            "llm_calls": llm_calls,
            "unparseable_answers": stats.get("unparseable_answers", 0),
            "unparseable_summaries": stats.get("unparseable_summaries", 0),
        },
        "num_users": {split: len(ds) for split, ds in data.items()},
        "depressed_users": {split: int(sum(ds["label"])) for split, ds in data.items()},
        "k": pipeline.config.k,
        "m": pipeline.config.m,
        "ablate": pipeline.config.ablate,
        "run_id": run_id,
    }
    output_dir = Path(args.run.output_dir)
    if state.is_main_process:
        print(format_report(metrics, f"Test metrics ({len(data['test'])} users)"))
        metrics.update(explanation_checks(pipeline, data, args))
        metrics["card"] = card_section(args, pipeline, sum(metrics["num_users"].values()))
        local_encoder = args.run.encoder not in (None, MINILM_HUB_ID) and Path(args.run.encoder).is_dir()
        pipeline.save_pretrained(output_dir, metrics=metrics, include_embedder=local_encoder, extra_files=plots,
                                 card=lambda config, m: doris_card(config, m, repo_or_path=str(output_dir)))
        print("Annotation: " + json.dumps(json_safe(metrics["annotation"])))
        unreadable = sum(stats.get(k, 0) for k in ("unparseable_answers", "unparseable_summaries",
                                                    "unparseable_explanations"))
        if unreadable:
            print(f"warning: {unreadable} LLM answers were unreadable even after retries; they were not cached and "
                  "counted as no symptom (or replaced by the offline summary). Rerun the same command to ask again.",
                  file=sys.stderr)
    say_saved([output_dir], state.is_main_process)
    state.wait_for_everyone()
    return TrainResult(metrics=metrics, output_dir=output_dir, models={"doris": pipeline})
