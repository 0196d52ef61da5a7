"""`depdetect {train,predict,evaluate,push,export,demo,data}`: one command line over the library's recipes.

    depdetect train {hybrid,dual-encoder,doris} [flags]     (also: python train.py SYSTEM ..., accelerate launch)
    depdetect predict MODEL_DIR_OR_REPO INPUT [-o OUT]      any trained system, detected from the folder
    depdetect evaluate MODEL_DIR_OR_REPO DATA [-o JSON]     metrics on labelled data
    depdetect push OUTPUT_DIR REPO_ID [...]                 publish with a model card (also: python push_to_hub.py)
    depdetect export MODEL -o DIR [--quantize int8]         a Hybrid or dual encoder as ONNX (ONNX Runtime)
    depdetect demo MODEL [MODEL ...]                        a Gradio app, one tab per model, on 127.0.0.1
    depdetect data CORPUS ...                               corpus converters (also: datasets_scripts/*.py)

Each system's training flags are built from its dataclasses (its spec's `arguments` in the registry, and the
model configs), so a default and its help are defined once. Only light modules are imported before the arguments are
parsed: `--help` answers without loading torch. A user's error ends with one line and exit code 2 (`--debug`
shows the traceback); a failed upload with exit code 1.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import inspect
import logging
import os
import sys
import textwrap
from typing import Any

from . import __version__, systems
from .arguments import FlagSet, add_spec, dataclass_specs, parse_bundle
from .corpora import all_corpora
from .corpora.common import count_at_least
from .early.options import EVALUATE_ONLY as EARLY_EVALUATE_ONLY
from .early.options import EarlyOptions
from .extras import MissingExtraError

USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, UnicodeDecodeError,
               MissingExtraError)
#: errors of the machine, not of the command: said in one line with the path and what to do (every file depdetect
#: writes is written beside its target and renamed at the end, so what was there before is left as it was)
ENVIRONMENT_ERRORS = {errno.ENOSPC: "the disk is full: free some space, or write elsewhere",
                      errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere",
                      errno.EACCES: "permission denied: choose a path you may write to (or read)",
                      errno.EPERM: "operation not permitted: choose a path you may write to (or read)",
                      errno.EROFS: "the file system is read-only: write elsewhere"}


def environment_error(err: OSError) -> str:
    """One line for a disk-full or permission error: the path, the cause, what to do."""
    where = err.filename or "writing a file"
    return (f"{where}: {ENVIRONMENT_ERRORS[err.errno]}; then run the same command again (an output that was there "
            "before is unchanged).")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=34, width=min(119, max(80, _columns())))


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 119


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, FlagSet]]:
    """The parser of every subcommand, and the training flags of each system (to rebuild their dataclasses)."""
    parser = argparse.ArgumentParser(prog="depdetect", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"depdetect {__version__}")
    parser.add_argument("--debug", action="store_true", help="Show the full traceback of an error.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    flagsets = _add_train(commands)
    for name in ("predict", "evaluate"):
        _add_predict_or_evaluate(commands, name, labelled=name == "evaluate")
    _add_push(commands)
    _add_export(commands)
    _add_demo(commands)
    _add_data(commands)
    return parser, flagsets


def _add_train(commands) -> dict[str, FlagSet]:
    """`depdetect train SYSTEM`: one subcommand per registered system, its flags built from its argument bundle."""
    train = commands.add_parser("train", help="Train and evaluate a system; save a Hub-ready folder.",
                                description="Train a system. `depdetect train SYSTEM --help` lists its flags.",
                                formatter_class=_Formatter)
    parsers = train.add_subparsers(dest="system", required=True, metavar="SYSTEM")
    flagsets = {}
    for spec in systems.specs():
        sub = parsers.add_parser(spec.cli_name, help=spec.description.split(";")[0].split(":")[0] + ".",
                                 description=textwrap.fill(spec.description, 100), formatter_class=_Formatter)
        flagsets[spec.name] = FlagSet(sub)
        flagsets[spec.name].add_bundle(spec.load("arguments"))
    return flagsets


def _add_predict_or_evaluate(commands, name: str, labelled: bool) -> None:
    what = "Predict and explain with" if not labelled else "Score on labelled data"
    sub = commands.add_parser(name, help=f"{what} any trained model (system detected from the folder).",
                              description=_PREDICT_HELP if not labelled else _EVALUATE_HELP,
                              formatter_class=_Formatter)
    sub.add_argument("model", help="A trained model folder or Hub repo id.")
    sub.add_argument("data", metavar="INPUT" if not labelled else "DATA",
                     help="CSV/TSV/JSONL/JSON/Parquet file, or - for JSON Lines on stdin"
                          + ("" if not labelled else "; or a dataset folder or Hub dataset id") + ".")
    if labelled:
        _add_evaluate_flags(sub)
    else:
        _add_predict_flags(sub)
    _add_early_flags(sub, labelled)
    sub.add_argument("--batch_size", type=int, default=32, help="Records per model call (default: 32).")
    sub.add_argument("--skip_bad", action="store_true",
                     help="Leave out records that fail validation (each reported on stderr) instead of stopping.")
    sub.add_argument("--text_column", default="text", help="Hybrid: the field holding the text (default: text).")
    sub.add_argument("--encoding", default="utf-8", help="Text encoding of the input file (default: utf-8).")
    sub.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: a GPU if there is one).")
    sub.add_argument("--revision", default=None, help="Revision of a Hub repo MODEL.")


def _add_evaluate_flags(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-o", "--output", default="evaluation.json", help="Where to write the metrics (JSON).")
    sub.add_argument("--split", default="test", help="The split of a dataset DATA to score (default: test).")
    sub.add_argument("--group_column", default=None,
                     help="A field of each record (e.g. gender, subreddit, source): metrics per group, the "
                          "largest gap, and groups with < 10 positives flagged.")
    sub.add_argument("--bootstrap_resamples", type=int, default=1000,
                     help="Bootstrap resamples for the 95%% intervals (default: 1000; 0: none).")
    sub.add_argument("--baselines", choices=("all", "tfidf", "none"), default="all",
                     help="Simple baselines cross-fitted (5 folds) on DATA: TF-IDF + logistic regression and "
                          "mean MiniLM embedding + logistic regression (default: all).")
    sub.add_argument("--plots_dir", default=None,
                     help="Where the PNG plots go (default: beside -o, e.g. evaluation_plots/).")
    sub.add_argument("--no_plots", dest="plots", action="store_false", help="Write no plots.")
    sub.add_argument("--faithfulness", action="store_true",
                     help="Also check every explanation method: ERASER comprehensiveness, sufficiency and their AOPC "
                          "at 10/20/50%% of the units (words, turns, posts) against random units, with intervals.")
    sub.add_argument("--faithfulness_samples", type=count_at_least(1), default=200,
                     help="Records sampled for --faithfulness (default: 200).")
    sub.add_argument("--audit", action="store_true",
                     help="Also run the shortcut audit: metrics with label words deleted (texts, posts), on "
                          "responses vs prompts only (interviews), and a history-shape baseline (users).")
    sub.add_argument("--audit_words", default=None, metavar="FILE",
                     help="With --audit: the label words, one per line ('depress*' for any ending; default: "
                          "depress*, suicid*, r/* and the bundled corpus' subreddit names).")


def _add_predict_flags(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-o", "--output", default=None, help="Output file (default: JSON Lines on stdout).")
    sub.add_argument("--format", dest="output_format", choices=("jsonl", "csv"), default=None,
                     help="Output format (default: from the -o suffix; JSON Lines otherwise).")
    sub.add_argument("--no_explain", dest="explain", action="store_false",
                     help="Predictions only, no explanations (faster).")
    sub.add_argument("--explain", dest="explain_method", default=None, metavar="METHOD",
                     help="The explanation method(s), comma-separated: Hybrid nas/awvti (default), "
                          "integrated_gradients, occlusion; dual encoder attention (default), occlusion; DORIS "
                          "evidence (default), occlusion.")
    sub.add_argument("--shard_outputs", action="store_true",
                     help="Under torchrun / accelerate launch: each process writes its own share to "
                          "OUT-00000-of-0000N.jsonl beside -o instead of one merged file in input order.")
    sub.add_argument("--html", default=None, metavar="REPORT.html",
                     help="Also write one self-contained HTML page of the predictions and their explanations "
                          "(highlighted words, turns shaded by attention, symptoms, mood-course timeline).")


def _add_export(commands) -> None:
    export = commands.add_parser("export", help="Export a trained torch model to ONNX (optionally int8).",
                                 description="Write a trained Hybrid or dual encoder as ONNX graphs that ONNX Runtime "
                                             "runs, in a folder `depdetect predict` and `evaluate` read. An "
                                             "exported Hybrid predicts without explanations (they need the torch "
                                             "model); an exported dual encoder keeps its attention and occlusion. "
                                             "int8: ONNX Runtime's dynamic quantisation. Needs `pip install "
                                             "'depdetect[onnx]'`.",
                                 formatter_class=_Formatter)
    export.add_argument("model", help="A trained model folder or Hub repo id.")
    export.add_argument("-o", "--output_dir", required=True, help="The export's folder (new or empty).")
    export.add_argument("--format", dest="export_format", choices=("onnx",), default="onnx",
                        help="The export format (default: onnx).")
    export.add_argument("--quantize", choices=("int8",), default=None,
                        help="Quantise the weights (int8: dynamic quantisation; default: none, fp32).")
    export.add_argument("--revision", default=None, help="Revision of a Hub repo MODEL.")


def _add_push(commands) -> None:
    push = commands.add_parser("push", help="Publish a trained folder to the Hub with its model card.",
                               description=_PUSH_HELP, formatter_class=_Formatter)
    push.add_argument("output_dir", help="A trained folder (outputs/hybrid, outputs/dual_encoder/receiver, "
                                         "outputs/doris).")
    push.add_argument("repo_id", help="namespace/name of the model repo (created when missing).")
    push.add_argument("--private", action="store_true", help="Create the repo as private.")
    push.add_argument("--revision", default=None, help="Branch to push to (created from main when missing).")
    push.add_argument("--commit-message", dest="commit_message", default=None)
    push.add_argument("--card-template", dest="card_template", default=None,
                      help="Your own card template (Jinja; see depdetect/model_cards/).")
    push.add_argument("--space", default=None, metavar="SPACE_ID",
                      help="Also publish a Gradio demo Space of the model: app.py (the `depdetect demo` app, loading "
                           "the model at the revision just pushed), requirements.txt pinned to this machine's "
                           "versions, and a Space README (sdk: gradio, models: REPO_ID, licence, notice).")
    push.add_argument("--space_dir", default=None, metavar="DIR",
                      help="With --space: write the Space folder here too (new or empty folder), to read it or run it "
                           "with `pip install -r requirements.txt && python app.py`.")
    push.add_argument("--follow_symlinks", action="store_true",
                      help="Publish symbolic links that point to files inside the folder (refused otherwise); links "
                           "leading outside the folder are always refused.")


def _add_demo(commands) -> None:
    demo = commands.add_parser("demo", help="A Gradio app with one tab per trained model, on 127.0.0.1.",
                               description="Serve a Gradio demo (Blocks) on this machine: one tab per model (any "
                                           "trained folder or Hub repo id, the system detected from it). Nothing "
                                           "typed is logged or stored. Needs `pip install 'depdetect[demo]'`.",
                               formatter_class=_Formatter)
    demo.add_argument("models", nargs="+", metavar="MODEL", help="Trained model folders or Hub repo ids.")
    demo.add_argument("--host", default="127.0.0.1",
                      help="Address to serve on (default: 127.0.0.1, this machine only; 0.0.0.0 opens it to your "
                           "network).")
    demo.add_argument("--port", type=int, default=None, help="Port (default: Gradio's, 7860 or the next free one).")
    demo.add_argument("--device", default=None, help="cpu, cuda, ... (default: a GPU if there is one).")
    demo.add_argument("--revision", default=None, help="Revision of Hub repo MODELs.")


def _add_data(commands) -> None:
    corpora = all_corpora()
    data = commands.add_parser("data", help="Convert a corpus to a depdetect schema (and publish it).",
                               description="Corpus converters. `depdetect data CORPUS --help` lists a corpus' "
                                           "arguments.\n\n" + "\n".join(f"  {name:<18}{text}" for name, (_, text)
                                                                        in corpora.items()),
                               formatter_class=_Formatter)
    data.add_argument("corpus", choices=list(corpora), metavar="CORPUS", help="One of: " + ", ".join(corpora) + ".")
    data.add_argument("args", nargs=argparse.REMAINDER, help="The corpus converter's own arguments.")


_PREDICT_HELP = """Predict with any trained model and explain each prediction; one output row per input record.

  Hybrid        texts: CSV/JSONL rows with `text` (--text_column), or bare JSON strings a line
  dual encoder  interviews: JSONL rows with `turns` [{prompt, response}], or bare turn lists
  DORIS         users: JSONL rows with `posts` [{text, timestamp}]

Every record is checked first: a bad one stops the run with its line number before anything is written (or is
left out and reported with --skip_bad). The input is streamed (memory does not grow with its length) and the
output written through a temporary file; started with `torchrun --nproc_per_node N -m depdetect.cli predict ...`
(or `accelerate launch`), each process scores its share and one file is written in input order. Output rows
carry the record's place and id, `label` (control/depression) and `probability` = P(depression) (the dual
encoder's regression models: `severity`), and the explanation: the Hybrid's words with AWVTI/NAS, the dual
encoder's attention per turn, DORIS's symptoms, mood course and text. An exported Hybrid (`depdetect export`)
predicts without explanations; an exported dual encoder keeps its attention per turn."""

_EVALUATE_HELP = """Score a trained model on labelled data (the same input forms as `predict`, with `label`, or
`score` for the dual encoder's regression models), print a table and write the metrics as JSON.

Beyond point metrics: 95% bootstrap intervals (units resampled), ECE and Brier score before and after the model's
saved calibration, the saved threshold and its rule, the dual encoder's conformal coverage, two simple baselines
cross-fitted on DATA with the model's gain over the better one, per-group metrics (--group_column), and PNG plots
(precision-recall, reliability, predicted vs true severity)."""

_PUSH_HELP = """Publish a trained output folder (Hybrid, dual encoder or DORIS) to the Hugging Face Hub.

Uploads the weights (safetensors) or trees (XGBoost JSON), the config (with `auto_map`), the remote-code and
pipeline files, the tokenizer, metrics.json and a fresh model card whose results table comes from metrics.json and
whose usage snippet is pinned to the uploaded revision. Checks everything before the first byte is sent; the local
folder is only read. Log in first (`hf auth login`) or set HF_TOKEN."""


def _add_early_flags(sub: argparse.ArgumentParser, labelled: bool) -> None:
    """--early and the flags of EarlyOptions (evaluate only: the metrics' constants)."""
    group = sub.add_argument_group("early risk detection (users' posts scored as they arrive; DORIS and Hybrid)")
    group.add_argument("--early", action="store_true",
                       help="Score each user after every post (or --chunk_size posts) and decide with a policy; "
                            + ("report ERDE_o, F_latency and latency_TP next to the usual metrics."
                               if labelled else "write each user's score trajectory, decision and its delay."))
    for spec in dataclass_specs(EarlyOptions):
        if labelled or spec.name not in EARLY_EVALUATE_ONLY:
            add_spec(group, spec)


def _early_options(args: argparse.Namespace) -> EarlyOptions | None:
    """EarlyOptions from the flags (None without --early; an error when an --early flag is used without it)."""
    given = {spec.name: getattr(args, spec.name) for spec in dataclass_specs(EarlyOptions) if hasattr(args, spec.name)}
    if not args.early:
        if given:
            raise ValueError(f"--{next(iter(given))} applies to early risk detection: add --early.")
        return None
    return EarlyOptions(**given)


def _legacy_train_argv(argv: list[str]) -> list[str]:
    """`--model X ...` (the command line before 0.2) -> `X ...`, with a note; `dual_encoder` -> `dual-encoder`."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--model" and i + 1 < len(argv) or arg.startswith("--model="):
            value = argv[i + 1] if arg == "--model" else arg.split("=", 1)[1]
            del argv[i : i + (2 if arg == "--model" else 1)]
            print(f"note: `--model {value}` is now the subcommand: `depdetect train {value.replace('_', '-')} ...`.",
                  file=sys.stderr)
            argv.insert(0, value)
            break
    if argv:  # a system's code name (dual_encoder) for its command-line name (dual-encoder)
        argv[0] = next((s.cli_name for s in systems.specs() if argv[0] == s.name), argv[0])
    return argv


def run(args: argparse.Namespace, flagsets: dict[str, FlagSet], on_step=None) -> Any:
    """Carry out a parsed command (heavy imports happen here, after parsing)."""
    if getattr(args, "device", None):
        check_device(args.device)
    if args.command == "train":
        return _run_train(args, flagsets, on_step)
    if args.command == "predict":
        return _run_predict(args)
    if args.command == "evaluate":
        return _run_evaluate(args)
    if args.command == "push":
        return _run_push(args)
    if args.command == "export":
        from .export import export_model

        return export_model(args.model, args.output_dir, args.export_format, args.quantize, args.revision)
    if args.command == "demo":
        from .demo import launch

        return launch(args.models, host=args.host, port=args.port, device=args.device, revision=args.revision)
    module = importlib.import_module(all_corpora()[args.corpus][0])
    return module.main(args.args)


def check_device(device: str) -> None:
    """`--device` as torch reads it and present on this machine: torch's own answer to a missing GPU is an
    AssertionError ("Torch not compiled with CUDA enabled") that names no flag and comes after the model loaded."""
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"--device {device!r} is not a device torch knows ({err}); use cpu, cuda, cuda:1, "
                         "...") from err
    if parsed.type != "cuda":
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not count:
        raise ValueError(f"--device {device}: torch {torch.__version__} finds no CUDA GPU on this machine; pass "
                         "--device cpu, or leave --device out (a GPU is used where there is one).")
    if parsed.index is not None and parsed.index >= count:
        raise ValueError(f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}.")


def _run_train(args: argparse.Namespace, flagsets: dict[str, FlagSet], on_step=None) -> Any:
    spec = systems.get(args.system)
    bundle = parse_bundle(spec.load("arguments"), flagsets[spec.name].values(args))
    train = spec.load("trainer")
    accepts_steps = "on_step" in inspect.signature(train).parameters  # DORIS fits trees: it has no steps
    return train(bundle, on_step=on_step) if accepts_steps else train(bundle)


def _common_inference(args: argparse.Namespace) -> dict:
    if args.batch_size < 1:
        raise ValueError(f"--batch_size must be >= 1, got {args.batch_size}.")
    return dict(batch_size=args.batch_size, skip_bad=args.skip_bad, device=args.device, revision=args.revision,
                encoding=args.encoding, text_column=args.text_column)


def _run_predict(args: argparse.Namespace) -> Any:
    from .inference import predict_file

    common = _common_inference(args)
    early = _early_options(args)
    if args.explain_method is not None and not args.explain:
        raise ValueError("--explain METHOD and --no_explain contradict each other; pass one.")
    explain = args.explain_method or args.explain
    if early is None:
        return predict_file(args.model, args.data, args.output, args.output_format, explain=explain,
                            html=args.html, shard_outputs=args.shard_outputs, **common)
    if args.shard_outputs:
        raise ValueError("--shard_outputs is not available with --early: its output is one trajectory per user.")
    if args.explain_method is not None:
        raise ValueError("--explain METHOD is not available with --early: each decision is explained with the "
                         "system's default explanation. Run `depdetect predict` without --early for other methods.")
    from .early.recipe import predict_early_file

    if args.html:
        raise ValueError("--html is not available with --early yet: the early output is a trajectory "
                         "per user (its plot is written beside -o).")
    common.pop("text_column")
    return predict_early_file(args.model, args.data, args.output, args.output_format, early,
                              explain=args.explain, **common)


def _run_evaluate(args: argparse.Namespace) -> Any:
    from .inference import evaluate_file

    common = _common_inference(args)
    early = _early_options(args)
    if args.bootstrap_resamples < 0:
        raise ValueError(f"--bootstrap_resamples must be >= 0, got {args.bootstrap_resamples}.")
    if early is None:
        return evaluate_file(args.model, args.data, args.output, args.split, group_column=args.group_column,
                             bootstrap_resamples=args.bootstrap_resamples, baselines=args.baselines,
                             plots_dir=args.plots_dir, plots=args.plots, faithfulness=args.faithfulness,
                             faithfulness_samples=args.faithfulness_samples, audit=args.audit,
                             audit_words=args.audit_words, **common)
    if args.faithfulness or args.audit or args.audit_words:
        raise ValueError("--faithfulness and --audit are not available with --early yet; run without --early.")
    from .early.recipe import evaluate_early_file

    if args.group_column:
        raise ValueError("--group_column is not available with --early yet; run without --early for "
                         "per-group metrics.")
    common.pop("text_column")
    return evaluate_early_file(args.model, args.data, args.output, early, args.split,
                               bootstrap_resamples=args.bootstrap_resamples, baselines=args.baselines,
                               plots_dir=args.plots_dir, plots=args.plots, **common)


def _run_push(args: argparse.Namespace) -> dict:
    from .hub import push_folder

    if args.space_dir and not args.space:
        raise ValueError("--space_dir goes with --space SPACE_ID (the Space it is written for).")
    if args.space:
        from .space import check_space

        check_space(systems.folder_kind(args.output_dir), args.space_dir, args.space)  # before anything is uploaded
    result = push_folder(args.output_dir, args.repo_id, private=args.private, revision=args.revision,
                         commit_message=args.commit_message, template=args.card_template,
                         follow_symlinks=args.follow_symlinks)
    print(f"Published {result['kind']} to {result['url']} ({len(result['files'])} files); usage pinned to "
          f"revision {result['pinned_revision']}, latest commit {result['commit']}.")
    if args.space:
        from .space import push_space

        result["space"] = push_space(args.space, args.repo_id, result["kind"], revision=result["pinned_revision"],
                                     private=args.private, space_dir=args.space_dir)
        print(f"Published the demo Space to {result['space']['url']} ({len(result['space']['files'])} files), "
              f"showing {args.repo_id} at revision {result['pinned_revision']}.")
    return result


def main(argv: list[str] | None = None, on_step=None) -> Any:
    """The `depdetect` command. Returns what the command produced (a TrainResult, predictions, metrics, ...)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if argv and argv[0] == "train":
        argv = ["train", *_legacy_train_argv(argv[1:])]
    if len(argv) >= 2 and argv[0] == "data" and argv[1] in all_corpora():  # the converter parses its own arguments
        argv = ["data", argv[1], "--", *argv[2:]] if "--" not in argv[2:3] else argv
    parser, flagsets = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "args", None) and args.args[0] == "--":
        args.args = args.args[1:]
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s",
                        level=os.environ.get("DEPDETECT_LOG_LEVEL", "WARNING"))
    try:
        return run(args, flagsets, on_step=on_step)
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    except Exception as err:
        from .hub import PublishError
        from .utils import as_os_error

        system = as_os_error(err, "")
        if system is not None and system.errno in ENVIRONMENT_ERRORS and not debug:
            print(f"error: {environment_error(system)}", file=sys.stderr)
            raise SystemExit(2) from err

        if isinstance(err, PublishError) and not debug:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(1) from err
        raise


def console() -> None:
    """The `depdetect` console script. It returns nothing: setuptools' wrapper passes the return value to
    sys.exit, which would print a result object and exit with status 1."""
    main()


def train_main(argv: list[str] | None = None, on_step=None) -> Any:
    """`python train.py SYSTEM ...` = `depdetect train SYSTEM ...`."""
    return main(["train", *(sys.argv[1:] if argv is None else argv)], on_step=on_step)


def data_main(corpus: str, argv: list[str] | None = None) -> Any:
    """`python datasets_scripts/CORPUS.py ...` = `depdetect data CORPUS ...` (one `error:` line for bad input)."""
    return main(["data", corpus, *(sys.argv[1:] if argv is None else argv)])


def push_main(argv: list[str] | None = None) -> Any:
    """`python push_to_hub.py OUTPUT_DIR REPO_ID ...` = `depdetect push ...`."""
    return main(["push", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
