"""Your own users in the generic JSON Lines form of the `users` schema, one user a line:

    {"user_id": "u01", "label": 1,
     "posts": [{"text": "Can't sleep again.", "timestamp": "2024-03-01T02:10:00+00:00"}, ...]}

`label` is 0/"control" or 1/"depression"; `timestamp` is ISO 8601 or null (posts without times keep their order).
A user needs at least one post with non-empty text.

    depdetect data users-jsonl check FILE.jsonl                   # validate, print a summary
    depdetect data users-jsonl export DATASET_DIR FILE.jsonl      # a saved DatasetDict split -> JSONL
    depdetect data users-jsonl push FILE.jsonl REPO_ID [--private]   # publish on the Hub
"""

from __future__ import annotations

from pathlib import Path

from .common import jsonl_main


def load_jsonl(path: str | Path):
    from ..data import read_jsonl, users_from_records

    return users_from_records(read_jsonl(path), str(path))


def summary(data) -> str:
    posts = [len(p) for p in data["posts"]]
    return (f"{len(data)} users ({sum(data['label'])} depressed), {sum(posts)} posts "
            f"(min {min(posts)}, max {max(posts)} per user)")


def main(argv: list[str] | None = None) -> None:
    jsonl_main(argv, __doc__, "users", "users-jsonl", load_jsonl, summary)


if __name__ == "__main__":
    main()
