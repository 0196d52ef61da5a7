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

from pathlib import Path

from datasets import Dataset
from jsonl_cli import jsonl_main, write_jsonl  # noqa: F401  (write_jsonl: part of this script's API)

from depdetect.data import interviews_from_records, read_jsonl


def load_jsonl(path: str | Path) -> Dataset:
    return interviews_from_records(read_jsonl(path), str(path))


def summary(data: Dataset) -> str:
    turns = [len(t) for t in data["turns"]]
    return f"{len(data)} interviews, {sum(turns)} turns (min {min(turns)}, max {max(turns)} per interview)"


def main(argv: list[str] | None = None) -> None:
    jsonl_main(argv, __doc__, "interviews", "interviews_jsonl.py", load_jsonl, summary)


if __name__ == "__main__":
    main()
