"""Your own interviews in the generic JSON Lines form of the `interviews` schema, one interview a line:

    {"interview_id": "p01", "score": 12.0, "label": 1,
     "turns": [{"prompt": "How have you been sleeping?", "response": "Badly, for weeks.", "importance": 1}, ...]}

`label` (0/1, or -1/absent) and `importance` (1, 0, or -1/absent for unknown; or one list beside `turns`, one value
per turn) are optional; an empty prompt is allowed, an empty response is not.

    depdetect data interviews-jsonl check FILE.jsonl                  # validate, print a summary
    depdetect data interviews-jsonl export DATASET_DIR FILE.jsonl     # a saved DatasetDict split -> JSONL
    depdetect data interviews-jsonl push FILE.jsonl REPO_ID [--private]  # publish on the Hub
"""

from __future__ import annotations

from pathlib import Path

from .common import jsonl_main


def load_jsonl(path: str | Path):
    from ..data import interviews_from_records, read_jsonl

    return interviews_from_records(read_jsonl(path), str(path))


def summary(data) -> str:
    turns = [len(t) for t in data["turns"]]
    return f"{len(data)} interviews, {sum(turns)} turns (min {min(turns)}, max {max(turns)} per interview)"


def main(argv: list[str] | None = None) -> None:
    jsonl_main(argv, __doc__, "interviews", "interviews-jsonl", load_jsonl, summary)


if __name__ == "__main__":
    main()
