"""Your own users in the generic JSON Lines form of the `users` schema, one user a line:

    {"user_id": "u01", "label": 1,
     "posts": [{"text": "Can't sleep again.", "timestamp": "2024-03-01T02:10:00+00:00"}, ...]}

`label` is 0/"control" or 1/"depression"; `timestamp` is ISO 8601 or null (posts without times keep their order).
A user needs at least one post with non-empty text.

    python datasets_scripts/users_jsonl.py check FILE.jsonl                 # validate, print a summary
    python datasets_scripts/users_jsonl.py export DATASET_DIR FILE.jsonl    # a saved DatasetDict split -> JSONL
    python datasets_scripts/users_jsonl.py push FILE.jsonl REPO_ID [--private]  # publish on the Hub
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from jsonl_cli import jsonl_main, write_jsonl  # noqa: F401  (write_jsonl: part of this script's API)

from depdetect.data import users_from_records, read_jsonl


def load_jsonl(path: str | Path) -> Dataset:
    return users_from_records(read_jsonl(path), str(path))


def summary(data: Dataset) -> str:
    posts = [len(p) for p in data["posts"]]
    return (f"{len(data)} users ({sum(data['label'])} depressed), {sum(posts)} posts "
            f"(min {min(posts)}, max {max(posts)} per user)")


def main(argv: list[str] | None = None) -> None:
    jsonl_main(argv, __doc__, "users", "users_jsonl.py", load_jsonl, summary)


if __name__ == "__main__":
    main()
