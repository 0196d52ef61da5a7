"""Fit DORIS on a small simulated cohort in its own process(es); used by the kill/resume and torchrun tests.

    python tests/doris_run.py ST_PATH OUT_JSON [--url CHAT_URL] [--cache DIR] [--users N]
    torchrun --nproc_per_node 2 tests/doris_run.py ST_PATH OUT_JSON --cpu
"""

from __future__ import annotations

import argparse
import json

from accelerate import PartialState

from depdetect import DorisConfig, DorisPipeline
from depdetect.doris import OpenAIAnnotator, SentenceTransformerEmbedder
from depdetect.doris.data import rmhd_user_cohort

parser = argparse.ArgumentParser()
parser.add_argument("st_path")
parser.add_argument("out")
parser.add_argument("--url")
parser.add_argument("--cache")
parser.add_argument("--users", type=int, default=100)
parser.add_argument("--cpu", action="store_true")
args = parser.parse_args()

state = PartialState(cpu=args.cpu)
cohort = rmhd_user_cohort(num_users=args.users, seed=3, prevalence=0.15)  # DORIS fits on >= 5 users per class
annotator = OpenAIAnnotator(args.url, "test-model", concurrency=4, backoff=0.01) if args.url else None
config = DorisConfig(xgboost={"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3})
doris = DorisPipeline(config, embedder=SentenceTransformerEmbedder(args.st_path, device="cpu"), annotator=annotator,
                      cache_dir=args.cache, state=state, batch_size=8)
doris.fit(cohort["train"])
probabilities = doris.predict_proba(cohort["test"])
X, _ = doris.featurize(cohort["test"].to_list())
if state.is_main_process:
    with open(args.out, "w") as handle:
        json.dump({"probabilities": probabilities.tolist(), "features": X.tolist(), "stats": dict(doris.stats),
                   "num_processes": state.num_processes}, handle)
