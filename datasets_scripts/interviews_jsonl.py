"""Your own interviews in the generic JSON Lines form of the `interviews` schema, one interview a line:

    {"interview_id": "p01", "score": 12.0, "label": 1,
     "turns": [{"prompt": "How have you been sleeping?", "response": "Badly, for weeks.", "importance": 1}, ...]}

`label` (0/1, or -1/absent) and `importance` (1, 0, or -1/absent for unknown) are optional; an empty prompt is
allowed, an empty response is not.

    python datasets_scripts/interviews_jsonl.py check FILE.jsonl          # validate, print a summary
    python datasets_scripts/interviews_jsonl.py export DATASET_DIR FILE.jsonl   # a saved DatasetDict split -> JSONL
    python datasets_scripts/interviews_jsonl.py push FILE.jsonl REPO_ID [--private]  # publish on the Hub
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from datasets import Dataset, DatasetDict, load_from_disk

from depdetect.data import interviews_from_records, read_jsonl
from depdetect.hub import dataset_card_text, push_dataset


def load_jsonl(path: str | Path) -> Dataset:
    return interviews_from_records(read_jsonl(path), str(path))


def write_jsonl(dataset: Dataset, path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in dataset:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check")
    check.add_argument("file")
    export = sub.add_parser("export")
    export.add_argument("dataset_dir")
    export.add_argument("file")
    export.add_argument("--split", default="train")
    push = sub.add_parser("push", help="Validate FILE and publish it as a Hub dataset repo (parquet + card).")
    push.add_argument("file")
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "check":
        data = load_jsonl(args.file)
        turns = [len(t) for t in data["turns"]]
        print(f"{len(data)} interviews, {sum(turns)} turns (min {min(turns)}, max {max(turns)} per interview)")
    elif args.command == "push":
        card = dataset_card_text(
            args.repo_id, "interviews_jsonl.py", "Your interviews (depdetect interviews schema)",
            "Interviews supplied by the repo owner, validated by depdetect and converted to the `interviews` schema.",
            "interviews", "Supplied by the repo owner, who is responsible for the right to publish it.",
            "Unknown: describe how the data were collected and labelled before sharing it.",
        )
        result = push_dataset(DatasetDict(train=load_jsonl(args.file)), args.repo_id, "interviews_js", card, "other",
                              private=args.private)
        print(f"Published {result['splits']} to {result['url']}")
    else:
        loaded = load_from_disk(args.dataset_dir)
        write_jsonl(loaded[args.split] if hasattr(loaded, "keys") else loaded, args.file)


if __name__ == "__main__":
    main()
