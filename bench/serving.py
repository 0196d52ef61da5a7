"""Serving and scale benchmarks (issue 27): what `depdetect export` buys, what streaming `predict` holds in memory, and
what Ray Data's workers and torchrun's processes give on 2 CPU cores. Prints what it measured; nothing is asserted.

    # throughput of one Hybrid four ways on the same real posts, in one run, and each one's test AUPRC
    python bench/serving.py throughput --model_dir outputs/hybrid --onnx exports/fp32 --int8 exports/int8
    # the dual encoder: torch fp32, ONNX fp32 and int8 on the same interviews (attention on), in one run
    python bench/serving.py interviews --model_dir outputs/dual/donor --data data/esconv --onnx ex/fp32 --int8 ex/int8
    # an input of N real posts repeated (JSON Lines), optionally with one bad record as its last line
    python bench/serving.py make_input 1000000 /tmp/posts_1m.jsonl [--bad_last]
    # `depdetect predict --no_explain` on inputs of several sizes: peak RSS and posts/s (1 or 2 processes)
    python bench/serving.py scale MODEL /tmp/posts_10k.jsonl /tmp/posts_100k.jsonl [--processes 2]
    # a small random Hybrid, to measure streaming over 1,000,000 posts in minutes (its predictions mean nothing)
    python bench/serving.py small_model /tmp/small_hybrid
    # Ray Data: the same Parquet input with 1 and 2 scoring workers
    python bench/serving.py ray MODEL /tmp/posts_2k.parquet --workers 1 2

Posts are real: the `clean_text` column of ../shared/data/reddit_depression.csv (not shipped with depdetect; pass
--posts_csv for another CSV with a text column), read in file order.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
POSTS_CSV = ROOT.parent / "shared" / "data" / "reddit_depression.csv"


def real_posts(path: str, count: int) -> list[str]:
    frame = pd.read_csv(path, encoding="latin-1")
    column = "clean_text" if "clean_text" in frame else "text"
    texts = [t for t in frame[column].dropna().astype(str) if t.strip()]
    return [texts[i % len(texts)] for i in range(count)]


def rate(predictor, module, texts: list[str], explain, batch_size: int) -> tuple[float, list[dict]]:
    records = [{"text": t} for t in texts]
    module.predict(predictor, records[:batch_size], explain=explain)  # warm-up, not counted
    start, outputs = time.perf_counter(), []
    for i in range(0, len(records), batch_size):
        outputs += module.predict(predictor, records[i : i + batch_size], explain=explain)
    return len(records) / (time.perf_counter() - start), outputs


def throughput(args) -> None:
    import torch

    from depdetect.hybrid import predictor as module
    from depdetect.hybrid.data import load_rmhd
    from depdetect.metrics import classification_metrics

    torch.set_num_threads(args.threads)
    texts = real_posts(args.posts_csv, args.posts)
    test = load_rmhd(seed=42)["test"]
    test_records, labels = [{"text": t} for t in test["text"]], np.array(test["label"])
    print(f"{len(texts)} real posts, batch {args.batch_size}, {args.threads} threads; AUPRC on the quick start's test "
          f"split ({len(labels)} posts, {int(labels.sum())} depression)")
    settings = [("torch fp32, explain (AWVTI+NAS)", args.model_dir, True, args.explain_posts),
                ("torch fp32, --no_explain", args.model_dir, False, len(texts)),
                ("ONNX fp32", args.onnx, False, len(texts))]
    settings += [(f"ONNX int8 ({Path(folder).name})" if len(args.int8) > 1 else "ONNX int8", folder, False, len(texts))
                 for folder in args.int8]
    reference, probabilities = None, {}
    for name, folder, explain, count in settings:
        if not folder:
            continue
        predictor = module.load_predictor(folder, "cpu")
        speed, outputs = rate(predictor, module, texts[:count], explain, args.batch_size)
        reference = reference or (speed if not explain else None)
        p = np.array([o["probability"] for o in outputs])
        test_p = np.array([o["probability"] for o in module.predict(predictor, test_records, explain=False)])
        auprc = classification_metrics(np.stack([1 - test_p, test_p], 1), labels)["auprc"]
        probabilities[name] = p
        base = probabilities.get("torch fp32, --no_explain")
        compared = base is not None and name != settings[1][0]
        change = f", max |dP| vs torch {np.abs(p - base).max():.4f}" if compared else ""
        ratio = f", {speed / reference:.2f}x torch fp32" if reference else ""
        print(f"{name:34s} {speed:7.1f} posts/s on {count} posts{ratio}; test AUPRC {auprc:.4f}{change}")


def interviews(args) -> None:
    """The dual encoder three ways (torch fp32, ONNX fp32, ONNX int8) on the same interviews, in one run: interviews
    per second with the attention (which survives export), RMSE against the scores, and the largest change of a
    severity and of a turn's attention from torch's."""
    import datasets
    import torch

    from depdetect.dual_encoder import predictor as module

    torch.set_num_threads(args.threads)
    rows = datasets.load_from_disk(args.data)
    records = [{"turns": r["turns"]} for r in rows]
    scores, turns = np.array(rows["score"], dtype=float), sum(len(r["turns"]) for r in records)
    print(f"{len(records)} interviews ({turns} turns) from {args.data}, batch {args.batch_size}, {args.threads} "
          "threads")
    reference = None
    for name, folder in (("torch fp32", args.model_dir), ("ONNX fp32", args.onnx), ("ONNX int8", args.int8)):
        if not folder:
            continue
        predictor = module.load_predictor(folder, "cpu")
        module.predict(predictor, records[: args.batch_size], explain=True)  # warm-up, not counted
        start, outputs = time.perf_counter(), []
        for i in range(0, len(records), args.batch_size):
            outputs += module.predict(predictor, records[i : i + args.batch_size], explain=True)
        speed = len(records) / (time.perf_counter() - start)
        severity = np.array([o["severity"] for o in outputs])
        attention = np.concatenate([[t["attention"] for t in o["turns"]] for o in outputs])
        rmse = float(np.sqrt(np.mean((severity - scores) ** 2)))
        if reference is None:
            reference = (speed, severity, attention)
            change = ""
        else:
            change = (f", {speed / reference[0]:.2f}x torch; max |d severity| "
                      f"{np.abs(severity - reference[1]).max():.4f}, max |d attention| "
                      f"{np.abs(attention - reference[2]).max():.4f}")
        print(f"{name:11s} {speed:6.2f} interviews/s ({speed * turns / len(records):6.1f} turns/s); RMSE {rmse:.4f}"
              f"{change}")


def make_input(args) -> None:
    texts = real_posts(args.posts_csv, min(args.count, 7000))
    with open(args.path, "w", encoding="utf-8") as out:
        for i in range(args.count):
            text = texts[i % len(texts)]
            if args.bad_last and i == args.count - 1:
                text = ""
            out.write(json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) + "\n")
    if args.parquet:
        pd.read_json(args.path, lines=True).to_parquet(args.parquet)
    print(f"wrote {args.count} posts to {args.path}" + (" (the last one empty)" if args.bad_last else ""))


def measure(command: list[str], env: dict) -> dict:
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    said = [line for line in done.stderr.splitlines() if line.startswith(("Wrote", "error", "Error"))]
    return {"exit": done.returncode, "seconds": seconds, "peak_rss_mb": int(rss.group(1)) / 1024 if rss else None,
            "said": said[-1] if said else done.stderr[-300:]}


def scale(args) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(max(1, 2 // args.processes))}
    for path in args.inputs:
        lines = sum(1 for _ in open(path, encoding="utf-8"))
        out = Path(args.output_dir) / (Path(path).stem + ".out.jsonl")
        launcher = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.processes), "-m",
                     "depdetect.cli"] if args.processes > 1 else ["depdetect"])
        result = measure([*launcher, "predict", args.model, path, "--no_explain", "--batch_size",
                          str(args.batch_size), "-o", str(out)], env)
        written = out.exists()
        print(f"{lines:>9,} posts, {args.processes} process(es): exit {result['exit']}, {result['seconds']:.0f} s "
              f"wall ({lines / result['seconds']:.0f} posts/s including start-up), peak RSS "
              f"{result['peak_rss_mb']:.0f} MB (largest process), output {'written' if written else 'NOT written'}; "
              f"said: {result['said']}")
        if written and not args.keep:
            out.unlink()


def small_model(args) -> None:
    """A small random Hybrid (2 BERT layers of width 64, MiniLM's tokenizer): predictions that mean nothing, made
    fast, to measure what streaming costs over a million posts in minutes instead of hours."""
    import torch
    from transformers import AutoTokenizer

    from depdetect import HybridConfig, HybridForSequenceClassification
    from depdetect.utils import default_encoder_path

    tokenizer = AutoTokenizer.from_pretrained(default_encoder_path())
    encoder = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 128, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = HybridForSequenceClassification(HybridConfig(encoder_config=encoder, lstm_hidden_size=16,
                                                         cnn_num_filters=8, fc_hidden_size=16))
    model.save_pretrained(args.path)
    tokenizer.save_pretrained(args.path)
    print(f"saved a small random Hybrid to {args.path}")


def ray_workers(args) -> None:
    import ray

    from depdetect.integrations.ray import HybridScorer

    for workers in args.workers:
        ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False, configure_logging=False)
        start = time.perf_counter()
        data = ray.data.read_parquet(args.input, override_num_blocks=max(4, 2 * workers))
        scored = data.map_batches(HybridScorer, fn_constructor_kwargs={"model": args.model, "threads": 2 // workers},
                                  batch_size=args.batch_size, batch_format="pandas", concurrency=workers, num_cpus=1)
        rows = scored.count()
        seconds = time.perf_counter() - start
        ray.shutdown()
        print(f"Ray Data, {workers} worker(s) x {2 // workers} thread(s): {rows} posts in {seconds:.1f} s "
              f"({rows / seconds:.1f} posts/s, cluster start excluded, model loading included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts_csv", default=str(POSTS_CSV))
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--model_dir", required=True)
    t.add_argument("--onnx")
    t.add_argument("--int8", nargs="*", default=[], help="one or more int8 exports (each measured in the same run)")
    t.add_argument("--posts", type=int, default=2000)
    t.add_argument("--explain_posts", type=int, default=200, help="explanations are slow: fewer posts")
    t.add_argument("--batch_size", type=int, default=32)
    t.add_argument("--threads", type=int, default=2)
    i = sub.add_parser("interviews")
    i.add_argument("--model_dir", required=True)
    i.add_argument("--data", required=True, help="an interviews dataset folder (depdetect data esconv ...)")
    i.add_argument("--onnx")
    i.add_argument("--int8")
    i.add_argument("--batch_size", type=int, default=8)
    i.add_argument("--threads", type=int, default=2)
    m = sub.add_parser("make_input")
    m.add_argument("count", type=int)
    m.add_argument("path")
    m.add_argument("--bad_last", action="store_true")
    m.add_argument("--parquet", help="also write the posts as this Parquet file")
    s = sub.add_parser("scale")
    s.add_argument("model")
    s.add_argument("inputs", nargs="+")
    s.add_argument("--processes", type=int, default=1)
    s.add_argument("--batch_size", type=int, default=64)
    s.add_argument("--output_dir", default="/tmp")
    s.add_argument("--keep", action="store_true")
    sub.add_parser("small_model").add_argument("path")
    r = sub.add_parser("ray")
    r.add_argument("model")
    r.add_argument("input")
    r.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    r.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args()
    {"throughput": throughput, "interviews": interviews, "make_input": make_input, "scale": scale, "ray": ray_workers,
     "small_model": small_model}[args.command](args)


if __name__ == "__main__":
    main()
