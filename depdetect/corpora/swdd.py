"""SWDD (Sina Weibo Depression Dataset; Cai et al. 2023) -> the `users` schema.

    depdetect data swdd SWDD_DIR OUT_DIR [--seed 42]     # writes a DatasetDict (save_to_disk)

SWDD_DIR holds `depressed.jsonl` (label 1) and `control.jsonl` (label 0), one user a line with a `tweets` list whose
items hold `text` (raw HTML) and `post_time` like "Thu Jan 30 01:01:11 +0800 2020". HTML is stripped (tags removed,
entities unescaped); times become ISO 8601 with their offset. Tweets left empty are dropped, and users left without
any tweet are dropped too (both counted). Splits: 7:1:2 stratified by label, as in the DORIS paper.
SWDD is licensed: use it under its terms and never publish it without permission.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from ..utils import read_text
from .common import add_push_arguments, expect, save_dataset

logger = logging.getLogger(__name__)
FILES = {"depressed.jsonl": 1, "control.jsonl": 0}
SWDD_TIME = "%a %b %d %H:%M:%S %z %Y"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div"):
            self.parts.append(" ")


def strip_html(raw: str) -> str:
    parser = _Text()
    parser.feed(raw)
    parser.close()
    return re.sub(r"\s+", " ", html.unescape("".join(parser.parts))).strip()


def swdd_time(value: object, where: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value).strip(), SWDD_TIME).isoformat()
    except ValueError as err:
        raise ValueError(f"{where}: post_time {value!r} is not like 'Thu Jan 30 01:01:11 +0800 2020'.") from err


def read_users(path: Path, label: int, counts: dict) -> list[dict]:
    users = []
    lines = read_text(path).split("\n")  # not splitlines: JSON strings may hold U+2028
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where} is not valid JSON ({err.msg}).") from err
        expect(record, dict, where, "record (a user)")
        tweets = record.get("tweets")
        if not isinstance(tweets, list):
            raise ValueError(f"{where}: expected a `tweets` list, got {type(tweets).__name__}.")
        posts = []
        for j, tweet in enumerate(tweets):
            expect(tweet, dict, f"{where}, tweet {j}", "tweet")
            text = strip_html(str(tweet.get("text") or ""))
            if not text:
                counts["empty_tweets"] += 1
                continue
            posts.append({"text": text, "timestamp": swdd_time(tweet.get("post_time"), where)})
        if not posts:
            counts["users_without_tweets"] += 1
            continue
        user_id = record.get("user_id", record.get("id", record.get("uid", f"{path.stem}-{number}")))
        users.append({"user_id": str(user_id), "posts": posts, "label": label})
    return users


def load_swdd(folder: str | Path, seed: int = 42):
    """SWDD's users as a `users` DatasetDict, split 7:1:2 stratified by label."""
    from datasets import DatasetDict

    from ..data import users_from_records

    folder = Path(folder)
    counts = {"empty_tweets": 0, "users_without_tweets": 0}
    records = []
    for name, label in FILES.items():
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing: SWDD_DIR must hold depressed.jsonl and "
                                    "control.jsonl.")
        records += read_users(folder / name, label, counts)
    if counts["empty_tweets"] or counts["users_without_tweets"]:
        logger.warning("Dropped %d empty tweets and %d users without tweets.", counts["empty_tweets"],
                       counts["users_without_tweets"])
    data = users_from_records(records, str(folder))
    test = data.train_test_split(test_size=0.2, seed=seed, stratify_by_column="label")
    rest = test["train"].train_test_split(test_size=0.125, seed=seed, stratify_by_column="label")  # 0.1 of the whole
    return DatasetDict(train=rest["train"], validation=rest["test"], test=test["test"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data swdd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("swdd_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=42)
    add_push_arguments(parser, licensed=True)
    args = parser.parse_args(argv)
    from ..hub import publish_corpus

    data = load_swdd(args.swdd_dir, args.seed)
    save_dataset(data, args.out_dir)
    print({name: len(split) for name, split in data.items()})
    if args.push_to_hub:
        publish_corpus(
            data,
            args.push_to_hub,
            "swdd",
            "swdd",
            "other",
            title="SWDD users (depdetect conversion)",
            description="Sina Weibo Depression Dataset users converted to the `users` schema (HTML stripped, times in "
                        "ISO 8601).",
            schema="users",
            source="SWDD (Cai et al. 2023), released for research under its authors' terms.",
            limits="Chinese-language Weibo posts of real people; labels from expert screening and self-disclosure.",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
