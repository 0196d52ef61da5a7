"""`python train.py --model doris ...`: fit DORIS on users, evaluate on the test users, save a Hub-ready folder.

Steps: `load_data` (users JSONL / a saved DatasetDict / the simulated RMHD cohort), `build_pipeline`, fit,
evaluate, `save_output`. Under `accelerate launch` the embedding, annotation and summaries are split across the
processes; the main process writes the output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accelerate import PartialState

from .cards import doris_card
from .data import load_users
from .doris import DorisConfig, DorisPipeline, SentenceTransformerEmbedder, make_annotator
from .doris.config import default_xgboost_params
from .metrics import json_safe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("DORIS (--model doris; --encoder is the sentence-transformers embedder)")
    group.add_argument("--annotator", default="embedding",
                       help="'embedding' (offline, no LLM), 'transformers:PATH' (a chat model folder, Hub id or "
                            ".gguf file) or 'openai:BASE_URL#MODEL' (any OpenAI-compatible server; key in "
                            "$OPENAI_API_KEY or --api_key_env).")
    group.add_argument("--api_key_env", default="OPENAI_API_KEY", help="Environment variable with the server's key.")
    group.add_argument("--llm_concurrency", type=int, default=8, help="openai: requests in flight at once.")
    group.add_argument("--llm_timeout", type=float, default=60.0, help="openai: seconds per request.")
    group.add_argument("--k", type=float, default=20.0, help="Percent of posts (by symptom risk) sent to the annotator.")
    group.add_argument("--m", type=float, default=30.0, help="Per emotion, percent of posts kept as emotional.")
    group.add_argument("--ablate", default="", help="Feature parts to leave out, comma-separated from dc,mc,ph.")
    group.add_argument("--cache_dir", default=None,
                       help="On-disk cache of embeddings/annotations/summaries (default: OUTPUT_DIR-cache); a killed "
                            "run resumes from it.")
    group.add_argument("--cohort_users", type=int, default=1000, help="Users in the simulated RMHD cohort (default data).")
    group.add_argument("--n_estimators", type=int, default=None, help="XGBoost trees (300).")
    group.add_argument("--max_depth", type=int, default=None, help="XGBoost tree depth (4).")
    group.add_argument("--threshold", type=float, default=0.5, help="P(depression) at or above which a user is depressed.")


def used_doris_flags(args: argparse.Namespace) -> list[str]:
    """DORIS flags given with another --model (their defaults are not 'given')."""
    defaults = {"annotator": "embedding", "k": 20.0, "m": 30.0, "ablate": "", "cache_dir": None, "cohort_users": 1000,
                "n_estimators": None, "max_depth": None}
    return [f"--{name}" for name, value in defaults.items() if getattr(args, name) != value]


def refuse_other_flags(args: argparse.Namespace) -> None:
    others = [flag for flag, used in (("--lora_r", args.lora_r), ("--no_bilstm", args.no_bilstm),
                                      ("--no_cnn", args.no_cnn), ("--mhim", args.mhim), ("--folds", args.folds),
                                      ("--resume_from_checkpoint", args.resume_from_checkpoint)) if used]
    if others:
        raise ValueError(
            f"{', '.join(others)} do not apply to --model doris (no neural training; a killed DORIS run resumes "
            "from --cache_dir by running the same command again)."
        )


def load_data(args: argparse.Namespace):
    data = load_users(args.train_file, args.validation_file, args.test_file, args.dataset_dir, seed=args.seed,
                      cohort_users=args.cohort_users)
    if args.train_file or args.dataset_dir:
        description = f"User-supplied data ({args.train_file or args.dataset_dir})."
    else:
        description = (
            f"A SIMULATED cohort of {sum(len(s) for s in data.values())} users (seed {args.seed}) built from the real "
            "RMHD sample posts (Low et al. 2020, shipped by construct-tracker 1.0.16): depressed users (1:19) draw a "
            "minority of their posts from r/depression and r/suicidewatch, the rest from non-clinical subreddits; "
            "control users post in non-clinical subreddits with an occasional post from other mental-health "
            "subreddits. Real posts, simulated users: results do not transfer to real user timelines."
        )
    return data, description


def build_pipeline(args: argparse.Namespace) -> DorisPipeline:
    xgb_params = default_xgboost_params()
    for key in ("n_estimators", "max_depth"):
        if getattr(args, key) is not None:
            xgb_params[key] = getattr(args, key)
    if args.learning_rate is not None:
        xgb_params["learning_rate"] = args.learning_rate
    config = DorisConfig(k=args.k, m=args.m, ablate=args.ablate, xgboost=xgb_params, threshold=args.threshold,
                         seed=args.seed)
    embedder = SentenceTransformerEmbedder(None if args.encoder_is_default else args.encoder,
                                           batch_size=args.eval_batch_size or 64,
                                           device="cpu" if args.cpu else None)
    kwargs = {}
    if args.annotator.startswith("openai:"):
        kwargs = {"api_key_env": args.api_key_env, "concurrency": args.llm_concurrency, "timeout": args.llm_timeout}
    annotator = make_annotator(args.annotator, symptoms=config.symptoms, **kwargs)
    cache_dir = args.cache_dir or f"{args.output_dir.rstrip('/')}-cache"
    return DorisPipeline(config, embedder=embedder, annotator=annotator, cache_dir=cache_dir,
                         state=PartialState(cpu=args.cpu))


def save_output(pipeline: DorisPipeline, output_dir: Path, metrics: dict, description: str, args) -> None:
    user_data = bool(args.train_file or args.dataset_dir)
    metrics["card"] = {  # what the model card says (push_to_hub.py rebuilds the card from it)
        "data_description": description,
        "training_description": (
            f"k={args.k}%, m={args.m}%, annotator {pipeline.config.annotator}, XGBoost "
            f"{pipeline.config.xgboost.get('n_estimators')} trees (depth {pipeline.config.xgboost.get('max_depth')}, "
            f"lr {pipeline.config.xgboost.get('learning_rate')}), seed {args.seed}"
        ),
        "dataset_name": "user-supplied data" if user_data else "Simulated RMHD user cohort (construct-tracker 1.0.16)",
        "dataset_type": "custom" if user_data else "rmhd-simulated-users",
    }
    pipeline.save_pretrained(output_dir, metrics=metrics)
    doris_card(pipeline.config, metrics, repo_or_path=str(output_dir)).save(output_dir / "README.md")


def run(args: argparse.Namespace) -> dict:
    refuse_other_flags(args)
    state = PartialState(cpu=args.cpu)
    data, description = load_data(args)
    pipeline = build_pipeline(args)
    pipeline.fit(data["train"])
    fit_stats = dict(pipeline.stats)
    validation = pipeline.evaluate(data["validation"])
    test = pipeline.evaluate(data["test"])
    stats = dict(pipeline.stats)
    llm_calls = pipeline.annotator.calls
    if state.num_processes > 1:  # each process asked for its own share
        from accelerate.utils import gather_object

        llm_calls = sum(gather_object([llm_calls]))
    metrics = {
        "test": test,
        "validation": validation,
        "annotation": {
            "annotator": pipeline.config.annotator,
            "train_posts": fit_stats.get("posts", 0),
            "train_posts_annotated": fit_stats.get("posts_annotated", 0),
            "posts": stats.get("posts", 0),
            "posts_annotated": stats.get("posts_annotated", 0),
            "llm_calls": llm_calls,
            "unparseable_answers": stats.get("unparseable_answers", 0),
        },
        "num_users": {split: len(ds) for split, ds in data.items()},
        "depressed_users": {split: int(sum(ds["label"])) for split, ds in data.items()},
        "k": args.k,
        "m": args.m,
        "ablate": pipeline.config.ablate,
    }
    if state.is_main_process:
        output_dir = Path(args.output_dir)
        save_output(pipeline, output_dir, metrics, description, args)
        print("Test metrics (" + ", ".join(f"{k}={v:.4f}" for k, v in test.items()) + ")")
        print("Annotation: " + json.dumps(json_safe(metrics["annotation"])))
        print(f"Saved the DORIS pipeline to {output_dir}.")
    state.wait_for_everyone()
    return metrics

