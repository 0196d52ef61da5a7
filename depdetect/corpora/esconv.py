"""ESConv dialogues (thu-coai/Emotional-Support-Conversation format) -> the `interviews` schema.

    depdetect data esconv ESConv.json OUT_DIR      # writes a DatasetDict (save_to_disk)

Each turn pairs the supporter's utterances ("listener", merged) with the seeker's reply ("speaker", merged);
an opening seeker turn gets an empty prompt. score = the seeker's initial emotion intensity (1-5);
label = 1 when emotion_type is "depression", else 0. ESConv carries no turn importance labels (-1).
ESConv is CC BY-NC 4.0: non-commercial use only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_push_arguments

SEEKER, SUPPORTER = "speaker", "listener"


def dialogue_turns(dialog: list[dict]) -> list[dict]:
    """Merge consecutive utterances of one speaker; pair each seeker block with the supporter block before it."""
    blocks: list[tuple[str, str]] = []
    for utterance in dialog:
        text = " ".join(str(utterance.get("content", "")).split())
        if not text:
            continue
        if blocks and blocks[-1][0] == utterance["speaker"]:
            blocks[-1] = (utterance["speaker"], blocks[-1][1] + " " + text)
        else:
            blocks.append((utterance["speaker"], text))
    turns, prompt = [], ""
    for speaker, text in blocks:
        if speaker == SUPPORTER:
            prompt = text
        elif speaker == SEEKER:
            turns.append({"prompt": prompt, "response": text, "importance": -1})
            prompt = ""
    return turns


def esconv_records(dialogues: list[dict]) -> list[dict]:
    records = []
    for i, dialogue in enumerate(dialogues):
        turns = dialogue_turns(dialogue.get("dialog", []))
        if not turns:
            continue  # a dialogue in which the seeker never speaks has nothing to score
        intensity = dialogue.get("survey_score", {}).get("seeker", {}).get("initial_emotion_intensity")
        records.append(
            {
                "interview_id": f"esconv-{i}",
                "turns": turns,
                "score": float(intensity) if intensity not in (None, "") else None,
                "label": int(dialogue.get("emotion_type") == "depression"),
            }
        )
    return records


def load_esconv(path: str | Path):
    """All dialogues of an ESConv JSON file as one `interviews` Dataset (dialogues without a score are dropped)."""
    from ..dual_encoder.data import interviews_from_records

    dialogues = json.loads(Path(path).read_text(encoding="utf-8"))
    records = [r for r in esconv_records(dialogues) if r["score"] is not None]
    return interviews_from_records(records, str(path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data esconv", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("esconv_json")
    parser.add_argument("output_dir")
    add_push_arguments(parser, licensed=False)
    args = parser.parse_args(argv)
    from datasets import DatasetDict

    from ..hub import publish_corpus

    dataset = load_esconv(args.esconv_json)
    dataset.save_to_disk(args.output_dir)
    print(f"{len(dataset)} interviews -> {args.output_dir}")
    if args.push_to_hub:
        publish_corpus(
            DatasetDict(train=dataset),
            args.push_to_hub,
            "esconv",
            "esconv",
            "cc-by-nc-4.0",
            title="ESConv dialogues as interviews (depdetect)",
            description="Emotional Support Conversation dialogues (thu-coai/Emotional-Support-Conversation) converted "
                        "to the `interviews` schema: each turn pairs the supporter's utterances (prompt) with the "
                        "seeker's reply (response); `score` is the seeker's initial emotion intensity (1-5); `label` "
                        "is 1 when the emotion type is depression.",
            schema="interviews",
            source="ESConv (Liu et al. 2021), CC BY-NC 4.0: non-commercial use only, with attribution.",
            limits="Crowd-sourced role-played support conversations, not clinical interviews; the score is a "
                   "self-rated emotion intensity, not a depression scale; no turn importance labels (-1).",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
