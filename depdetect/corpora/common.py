"""What the corpus converters share: the push flags, and the check/export/push command of the JSONL schemas."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def add_push_arguments(parser: argparse.ArgumentParser, licensed: bool = False) -> None:
    """--push_to_hub REPO_ID [--private] (and --i-have-permission for licensed corpora)."""
    parser.add_argument("--push_to_hub", metavar="REPO_ID", default=None,
                        help="Also publish the result as a Hub dataset repo (parquet + dataset card).")
    parser.add_argument("--private", action="store_true", help="Create the dataset repo as private.")
    if licensed:
        parser.add_argument("--i-have-permission", dest="i_have_permission", action="store_true",
                            help="Confirm that your licence for this corpus allows publishing it.")


def count_at_least(least: int):
    """An argparse type: an integer >= `least` (a count of users, interviews, ...), refused by argparse otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    parse.__name__ = f"count >= {least}"
    return parse


def write_jsonl(dataset, path: str | Path) -> None:
    from ..utils import write_text

    write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in dataset))


def read_json_file(path: str | Path):
    """A JSON file's content; a ValueError naming the file (and line) when it is missing, not UTF-8 or not JSON."""
    from ..utils import read_json

    return read_json(path)


def expect(value, kind, where: str, what: str):
    """`value` when it is a `kind`; a ValueError naming the place and the field otherwise."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{where}: `{what}` must be a {names}, got {type(value).__name__} ({value!r:.40}).")
    return value


def save_dataset(dataset, output_dir: str | Path) -> None:
    """save_to_disk into a temporary folder beside `output_dir`, then rename: a failure leaves no half folder."""
    import shutil
    import tempfile

    output_dir = Path(output_dir)
    if output_dir.exists() and (not output_dir.is_dir() or (any(output_dir.iterdir()) and not any(
            (output_dir / n).is_file() for n in ("dataset_dict.json", "state.json")))):
        raise ValueError(f"{output_dir} exists and is not a saved dataset; choose a new or empty output folder "
                         "(a saved dataset there is replaced).")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output_dir.parent, prefix=f".{output_dir.name}.saving-"))
    try:
        dataset.save_to_disk(str(tmp / "data"))
        if output_dir.exists():
            shutil.rmtree(output_dir)
        (tmp / "data").replace(output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def jsonl_main(argv: list[str] | None, doc: str, schema: str, script: str, load_jsonl: Callable[[str], object],
               summary: Callable[[object], str]) -> None:
    parser = argparse.ArgumentParser(prog=f"depdetect data {script}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="Validate FILE and print a summary.")
    check.add_argument("file")
    export = sub.add_parser("export", help="Write one split of a saved DatasetDict as JSONL.")
    export.add_argument("dataset_dir")
    export.add_argument("file")
    export.add_argument("--split", default="train")
    push = sub.add_parser("push", help="Validate FILE and publish it as a Hub dataset repo (parquet + card).")
    push.add_argument("file")
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "check":
        print(summary(load_jsonl(args.file)))
    elif args.command == "push":
        from datasets import DatasetDict

        from ..hub import publish_corpus

        publish_corpus(
            DatasetDict(train=load_jsonl(args.file)),
            args.repo_id,
            script.replace("-", "_"),
            script,
            "other",
            title=f"Your {schema} (depdetect `{schema}` schema)",
            description=f"Data supplied by the repo owner, validated by depdetect and converted to the `{schema}` "
                        "schema.",
            schema=schema,
            source="Supplied by the repo owner, who is responsible for the right to publish it.",
            limits="Unknown: describe how the data were collected and labelled before sharing it.",
            private=args.private,
        )
    else:
        from datasets import load_from_disk

        loaded = load_from_disk(args.dataset_dir)
        write_jsonl(loaded[args.split] if hasattr(loaded, "keys") else loaded, args.file)
