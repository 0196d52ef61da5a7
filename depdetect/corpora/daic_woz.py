"""DAIC-WOZ (your licensed copy) -> the `interviews` schema, as a DatasetDict with train/validation/test.

    depdetect data daic-woz DAIC_ROOT OUT_DIR

DAIC_ROOT holds one folder per session, `{id}_P/{id}_TRANSCRIPT.csv` (tab-separated: start_time, stop_time,
speaker ["Ellie" or "Participant"], value), and the split files `train_split_Depression_AVEC2017.csv`,
`dev_split_Depression_AVEC2017.csv` (Participant_ID, PHQ8_Binary, PHQ8_Score, ...) and `full_test_split.csv`
(Participant_ID, PHQ_Binary, PHQ_Score, ...). Consecutive participant lines are merged into one response and
paired with Ellie's preceding prompt; annotations (`<laughter>`, `[sync]`, `scrubbed_entry`, ...) are removed.
Sessions 373 and 444 contain interruptions: lines inside INTERRUPTIONS are dropped (edit the windows if your copy's
documentation gives others). The time offsets of sessions 318, 321, 341 and 362 do not matter for text.
DAIC-WOZ is licensed: never publish the converted data.

Prompt bias: Ellie's questions are not the same for everyone: she follows up differently depending on earlier
answers, so which prompts an interview contains already says much about the PHQ-8 score. Burdisso et al. 2024
(arXiv 2404.14463) show that models reading the interviewer's side can score well by exploiting those prompts,
not the participant's words. The converter keeps the prompts (Lau et al.'s dual encoder reads them); train with
`depdetect train dual-encoder --prompts drop` to read the participant's responses only, and compare both: a model
that needs the prompts to score well has learnt the interview protocol, not depression. The choice is saved in the
model's config (`prompts`) and stated on its card.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

from ..utils import read_text
from .common import add_push_arguments, save_dataset

#: (start, stop) seconds of the interruptions in sessions 373 and 444, as the DAIC-WOZ documentation describes them.
INTERRUPTIONS = {"373": [(5 * 60 + 52, 7 * 60)], "444": [(4 * 60 + 46, 6 * 60 + 27)]}
SPLIT_FILES = {
    "train": "train_split_Depression_AVEC2017.csv",
    "validation": "dev_split_Depression_AVEC2017.csv",
    "test": "full_test_split.csv",
}
_ANNOTATION = re.compile(r"<[^>]*>|\[[^\]]*\]|\bscrubbed_entry\b|\bxxx+\b", re.IGNORECASE)


def clean(text: str) -> str:
    """Remove transcription annotations and squeeze whitespace."""
    return " ".join(_ANNOTATION.sub(" ", text or "").split())


def read_transcript(path: str | Path, session: str | None = None) -> list[tuple[float, str, str]]:
    """(start_time, speaker, cleaned text) rows of one transcript, interruptions dropped."""
    windows = INTERRUPTIONS.get(str(session), [])
    rows = []
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:  # transcripts hold stray bytes
        for row in csv.DictReader(handle, delimiter="\t"):
            try:
                start = float(row["start_time"])
            except (KeyError, TypeError, ValueError):
                continue
            if any(lo <= start <= hi for lo, hi in windows):
                continue
            text = clean(row.get("value", ""))
            if text:
                rows.append((start, (row.get("speaker") or "").strip(), text))
    return rows


def transcript_turns(rows: list[tuple[float, str, str]]) -> list[dict]:
    """Pair each run of participant lines (merged) with Ellie's last line before it."""
    turns, prompt, response = [], "", []
    for _, speaker, text in rows:
        if speaker.lower() == "participant":
            response.append(text)
            continue
        if response:
            turns.append({"prompt": prompt, "response": " ".join(response), "importance": -1})
            response = []
        prompt = text
    if response:
        turns.append({"prompt": prompt, "response": " ".join(response), "importance": -1})
    return turns


def _split_rows(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(read_text(path), newline="")))
    out = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"{path}:{number}"
        row = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
        if not row.get("Participant_ID"):
            raise ValueError(f"{where}: no `Participant_ID` (columns: {sorted(row)}); is this a DAIC-WOZ split file?")
        score = row.get("PHQ8_Score", row.get("PHQ_Score", ""))
        label = row.get("PHQ8_Binary", row.get("PHQ_Binary", ""))
        try:
            score = float(score) if score else None
        except ValueError:
            raise ValueError(f"{where}: `PHQ8_Score` must be a number, got {score!r}.") from None
        try:
            label = int(float(label)) if label else -1
        except ValueError:
            raise ValueError(f"{where}: `PHQ8_Binary` must be 0 or 1, got {label!r}.") from None
        if label not in (-1, 0, 1):
            raise ValueError(f"{where}: `PHQ8_Binary` must be 0 or 1, got {label!r}.")
        out.append({"id": row["Participant_ID"], "score": score, "label": label})
    return out


def load_daic_woz(root: str | Path):
    """The train/validation/test sessions of a DAIC-WOZ copy as an `interviews` DatasetDict."""
    from datasets import DatasetDict

    from ..data import interviews_from_records

    root = Path(root)
    splits = {}
    for split, filename in SPLIT_FILES.items():
        path = root / filename
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: point DAIC_ROOT at your DAIC-WOZ copy (it holds the split "
                                    "files).")
        records = []
        for entry in _split_rows(path):
            session = entry["id"]
            transcript = root / f"{session}_P" / f"{session}_TRANSCRIPT.csv"
            if not transcript.is_file():
                raise FileNotFoundError(f"{transcript} is missing (session {session} of {filename}).")
            records.append({"interview_id": session, "turns": transcript_turns(read_transcript(transcript, session)),
                            "score": entry["score"], "label": entry["label"]})
        splits[split] = interviews_from_records(records, filename)
    return DatasetDict(splits)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data daic-woz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("daic_root")
    parser.add_argument("output_dir")
    add_push_arguments(parser, licensed=True)
    args = parser.parse_args(argv)
    from ..hub import publish_corpus

    data = load_daic_woz(args.daic_root)
    save_dataset(data, args.output_dir)
    print({name: len(split) for name, split in data.items()}, "->", args.output_dir)
    if args.push_to_hub:
        publish_corpus(
            data,
            args.push_to_hub,
            "daic_woz",
            "daic-woz",
            "other",
            title="DAIC-WOZ interviews (depdetect conversion)",
            description="DAIC-WOZ clinical interviews converted to the `interviews` schema with PHQ-8 scores and "
                        "binary labels.",
            schema="interviews",
            source="DAIC-WOZ (Gratch et al. 2014), distributed by USC ICT under an end-user licence agreement.",
            limits="Licensed data: publish only what your licence allows, privately. Interviews were conducted by a "
                   "virtual agent with US participants. The agent's prompts depend on earlier answers, so models "
                   "that read them can learn the protocol instead of the participant (Burdisso et al. 2024): train "
                   "with `--prompts drop` and compare.",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
