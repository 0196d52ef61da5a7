"""CLEF eRisk (early risk detection, depression task) XML + golden truth -> the `users` schema.

    depdetect data erisk XML_PATH GOLDEN_TRUTH OUT_DIR [--test TEST_XML_PATH TEST_GOLDEN_TRUTH] [--seed 42]

XML_PATH is a folder (searched recursively for *.xml) or one XML file. Each file holds one subject, in the lab's
format:

    <INDIVIDUAL>
      <ID>subject1234</ID>
      <WRITING> <TITLE> ... </TITLE> <DATE> 2013-09-27 03:01:54 </DATE> <INFO> reddit post </INFO>
                <TEXT> ... </TEXT> </WRITING>
      ...
    </INDIVIDUAL>

Both releases are read: whole-history files (`subject1234.xml`) and per-chunk files (`chunk 3/subject1234_3.xml`,
one tenth of the history each); a subject's writings from all its files are merged and put in time order. A post
is the title and the text joined (either may be empty); writings empty in both are dropped and counted. `<INFO>` is
not kept. GOLDEN_TRUTH has one `subject_id label` line per subject (label 1: depression, 0: control; spaces or a
tab between). Every subject of the XML must be in the golden truth and the other way round: a mismatch stops the
conversion and lists the subjects. A subject left without any non-empty writing stops it too (named), unless
`--drop_empty_subjects`. A writing that arrives twice (same time and text in two files of one subject: a
whole-history file beside its chunk files) stops it, naming both files, unless `--dedupe_writings`.

Splits: with `--test`, the test collection is the test split and 1/8 of the training subjects (stratified) are
held out for validation; without it, the subjects are split 7:1:2 (stratified). eRisk is distributed under a user
agreement: never publish it unless that agreement allows (`--push_to_hub` needs `--i-have-permission`).
"""

from __future__ import annotations

import argparse
import logging
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from ..utils import plural, read_text
from .common import add_push_arguments, save_dataset

logger = logging.getLogger(__name__)

_CHUNK = re.compile(r"(?:_|chunk\s*_?)(\d+)(?:\.xml)?$", re.IGNORECASE)
_BARE_AMPERSAND = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def _chunk_number(path: Path) -> int:
    """The chunk a file belongs to (from `name_3.xml` or a `chunk 3` folder); 0 for whole-history files."""
    for name in (path.stem, path.parent.name):
        match = _CHUNK.search(name)
        if match:
            return int(match.group(1))
    return 0


def erisk_time(value: str | None, where: str) -> str | None:
    """eRisk's `2013-09-27 03:01:54` (or any ISO 8601 time) -> ISO 8601; None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{where}: <DATE> {value!r} is not a date like '2013-09-27 03:01:54'; fix or empty it."
                         ) from None


def _root(path: Path) -> ET.Element:
    """The whole file parsed at once (the fallback for files that hold bare '&' in their texts)."""
    raw = read_text(path)
    try:
        return ET.fromstring(_BARE_AMPERSAND.sub("&amp;", raw))
    except ET.ParseError as err:
        line, column = err.position
        raise ValueError(f"{path}:{line} is not well-formed XML (column {column}: {err.msg}).") from None


def _streamed(path: Path):
    """(tag, element) of every closed element, streamed: a writing is read and dropped one at a time, so a 200 MB
    file never sits in memory whole."""
    parents = []
    for event, element in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            parents.append(element)
            continue
        parents.pop()
        yield element.tag, element
        if element.tag == "WRITING" and parents:
            parents[-1].remove(element)  # read: let it go


def _subject_parts(elements) -> tuple[bool, str | None, list[tuple[str, str | None]]]:
    """(an <INDIVIDUAL> seen, its <ID>, [(title and text joined, date)] of its writings in file order)."""
    subject, writings, seen = None, [], False
    for tag, element in elements:
        if tag == "INDIVIDUAL":
            seen = True
        elif tag == "ID" and subject is None:
            subject = (element.text or "").strip()
        elif tag == "WRITING":
            title = " ".join((element.findtext("TITLE") or "").split())
            text = (element.findtext("TEXT") or "").strip()
            writings.append(("\n".join(part for part in (title, text) if part), element.findtext("DATE")))
    return seen, subject, writings


def read_subject_file(path: str | Path) -> tuple[str, list[dict], int]:
    """(subject id, writings [{text, timestamp}] in file order, empty writings dropped) of one eRisk XML file."""
    path = Path(path)
    try:
        seen, subject, writings = _subject_parts(_streamed(path))
    except ET.ParseError:  # a bare '&' or bytes that are not UTF-8: read the whole file instead, from the start
        seen, subject, writings = _subject_parts((e.tag, e) for e in _root(path).iter())
    empty = 0
    if not seen:
        raise ValueError(f"{path} holds no <INDIVIDUAL>; is it an eRisk subject file?")
    if not subject:
        raise ValueError(f"{path}: the <INDIVIDUAL> has no <ID>.")
    posts = []
    for index, (body, date) in enumerate(writings):
        if not body:
            empty += 1
            continue
        posts.append({"text": body, "timestamp": erisk_time(date, f"{path}, subject {subject}, writing {index}")})
    return subject, posts, empty


def read_golden_truth(path: str | Path) -> dict[str, int]:
    """{subject id: label} from a golden-truth file (`subject_id label` per line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such golden-truth file: {path}.")
    truth: dict[str, int] = {}
    lines = read_text(path).splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1"):
            raise ValueError(f"{path}:{number}: expected `subject_id label` with label 0 or 1, got {line.strip()!r}.")
        if parts[0] in truth:
            raise ValueError(f"{path}:{number}: subject {parts[0]!r} is listed twice.")
        truth[parts[0]] = int(parts[1])
    if not truth:
        raise ValueError(f"{path} lists no subjects.")
    return truth


def _xml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"No such file or folder: {path}.")
    files = sorted(path.rglob("*.xml"), key=lambda p: (_chunk_number(p), str(p)))
    if not files:
        raise ValueError(f"{path} holds no .xml files.")
    return files


def _listing(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def merge_writings(files: list[Path], dedupe: bool = False) -> tuple[dict[str, list[tuple[int, int, dict]]], int]:
    """{subject: [(chunk, index, post)]} of all files, and the count of empty writings dropped. A writing (same
    time, same text) that arrives from two files of one subject (a whole-history file beside its chunk files, or
    one subject copied twice) is refused, naming both files; with `dedupe` it is kept once and counted."""
    writings: dict[str, list[tuple[int, int, dict]]] = {}
    origin: dict[tuple[str, str | None, str], Path] = {}
    empty, repeated, example = 0, 0, None
    for path in files:
        subject, posts, dropped = read_subject_file(path)
        empty += dropped
        chunk = _chunk_number(path)
        rows = writings.setdefault(subject, [])
        for post in posts:
            key = (subject, post["timestamp"], post["text"])
            first = origin.setdefault(key, path)
            if first != path:
                repeated += 1
                example = example or (subject, first, path)
                if dedupe:
                    continue
            rows.append((chunk, len(rows), post))
    if repeated and not dedupe:
        subject, first, second = example
        raise ValueError(f"{plural(repeated, 'writing')} arrived twice: e.g. subject {subject} has the same writing "
                         f"in {first} "
                         f"and {second}. Pass a whole-history file or its chunk files, not both (or one copy of "
                         "each subject); or --dedupe_writings to keep each writing once.")
    if repeated:
        logger.warning("Kept %d writing(s) that arrived from two files once each (--dedupe_writings).", repeated)
    return writings, empty


def load_collection(xml_path: str | Path, golden_truth: str | Path, drop_empty_subjects: bool = False,
                    dedupe_writings: bool = False) -> list[dict]:
    """The users of one eRisk collection (records of the `users` schema), each subject's posts in time order."""
    from ..schemas import parse_timestamp

    writings, empty = merge_writings(_xml_files(Path(xml_path)), dedupe_writings)
    truth = read_golden_truth(golden_truth)
    unknown = sorted(set(writings) - set(truth))
    missing = sorted(set(truth) - set(writings))
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"{plural(len(unknown), 'subject')} of {xml_path} not in {golden_truth}: {_listing(unknown)}")
        if missing:
            parts.append(f"{plural(len(missing), 'subject')} of {golden_truth} without an XML file in {xml_path}: "
                         f"{_listing(missing)}")
        raise ValueError("; ".join(parts) + ". Check that the XML and the golden truth are from the same collection.")
    empty_subjects = sorted(s for s, rows in writings.items() if not rows)
    if empty_subjects and not drop_empty_subjects:
        raise ValueError(f"{plural(len(empty_subjects), 'subject')} without any writing with text: "
                         f"{_listing(empty_subjects)}; "
                         "pass --drop_empty_subjects to leave them out.")
    if empty or empty_subjects:
        logger.warning("Dropped %d empty writings and %d subjects without text.", empty, len(empty_subjects))
    records = []
    for subject in sorted(writings):
        rows = writings[subject]
        if not rows:
            continue
        times = [parse_timestamp(post["timestamp"], f"subject {subject}") for _, _, post in rows]
        if all(t is not None for t in times):
            order = sorted(range(len(rows)), key=lambda i: (times[i], rows[i][0], rows[i][1]))
        else:
            order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1]))
        records.append({"user_id": subject, "posts": [rows[i][2] for i in order], "label": truth[subject]})
    return records


def load_erisk(xml_path: str | Path, golden_truth: str | Path, test: tuple[str, str] | None = None, seed: int = 42,
               drop_empty_subjects: bool = False, dedupe_writings: bool = False):
    """An eRisk collection (and its test collection) as a `users` DatasetDict with train/validation/test."""
    from datasets import DatasetDict

    from ..data import stratified_splits, users_from_records

    data = users_from_records(load_collection(xml_path, golden_truth, drop_empty_subjects, dedupe_writings),
                              str(xml_path))
    labels = list(data["label"])
    counts = [labels.count(0), labels.count(1)]
    held_out = 0.125 if test is not None else 0.1  # the smallest stratified part needs one subject of each class
    least, per_class = (12, 2) if test is not None else (15, 3)
    if len(labels) < least or min(counts) < per_class:
        raise ValueError(f"{xml_path} holds {counts[1]} depressed and {counts[0]} control subjects: too few to split "
                         f"into stratified splits ({held_out:.1%} held out for validation needs at least {least} "
                         f"subjects, {per_class} of each class).")
    if test is None:
        return stratified_splits(data, validation_size=0.1, test_size=0.2, seed=seed)
    held = users_from_records(load_collection(test[0], test[1], drop_empty_subjects, dedupe_writings),
                              str(test[0]))
    parts = data.train_test_split(test_size=0.125, seed=seed, stratify_by_column="label")
    return DatasetDict(train=parts["train"], validation=parts["test"], test=held)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data erisk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xml_path", help="A folder of eRisk XML files (searched recursively) or one file.")
    parser.add_argument("golden_truth", help="The collection's golden-truth file (`subject_id label` per line).")
    parser.add_argument("output_dir")
    parser.add_argument("--test", nargs=2, metavar=("TEST_XML_PATH", "TEST_GOLDEN_TRUTH"), default=None,
                        help="The test collection (its XML and golden truth) as the test split.")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the stratified splits.")
    parser.add_argument("--drop_empty_subjects", action="store_true",
                        help="Leave out subjects without any writing with text (an error otherwise).")
    parser.add_argument("--dedupe_writings", action="store_true",
                        help="Keep once (and count) a writing that arrives from two files of one subject (an error "
                             "otherwise: a whole-history file passed beside its chunk files).")
    add_push_arguments(parser, licensed=True)
    args = parser.parse_args(argv)
    from ..hub import publish_corpus

    data = load_erisk(args.xml_path, args.golden_truth, tuple(args.test) if args.test else None, args.seed,
                      args.drop_empty_subjects, args.dedupe_writings)
    save_dataset(data, args.output_dir)
    print({name: f"{len(split)} users ({sum(split['label'])} depressed)" for name, split in data.items()}, "->",
          args.output_dir)
    if args.push_to_hub:
        publish_corpus(
            data,
            args.push_to_hub,
            "erisk",
            "erisk",
            "other",
            title="eRisk depression users (depdetect conversion)",
            description="CLEF eRisk early-risk-detection subjects (Reddit writings, titles and texts joined, in time "
                        "order) converted to the `users` schema.",
            schema="users",
            source="CLEF eRisk (Losada and Crestani 2016; Losada et al. 2017-), distributed under a user agreement.",
            limits="Licensed data of real Reddit users: publish only what your agreement allows, privately. Labels "
                   "come from self-reported diagnoses; controls include users who discuss depression.",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
