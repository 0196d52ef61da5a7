"""ESConv dialogues (thu-coai/Emotional-Support-Conversation format) -> the `interviews` schema.

    depdetect data esconv ESConv.json OUT_DIR      # writes a DatasetDict (save_to_disk)

Each turn pairs the supporter's utterances ("listener", merged) with the seeker's reply ("speaker", merged);
an opening seeker turn gets an empty prompt. score = the seeker's initial emotion intensity (1-5);
label = 1 when emotion_type is "depression", else 0 (56 of the 196 dialogues of FailedESConv.json): train the
classification variant on it with `depdetect train dual-encoder --num_labels 2`. ESConv carries no turn importance
labels (-1).
ESConv is CC BY-NC 4.0: non-commercial use only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_push_arguments, expect, read_json_file, save_dataset

SEEKER, SUPPORTER = "speaker", "listener"


def dialogue_turns(dialog: list[dict], where: str = "dialog") -> list[dict]:
    """Merge consecutive utterances of one speaker; pair each seeker block with the supporter block before it."""
    blocks: list[tuple[str, str]] = []
    for j, utterance in enumerate(expect(dialog, list, where, "dialog")):
        place = f"{where}, utterance {j}"
        expect(utterance, dict, place, "utterance")
        speaker = expect(utterance.get("speaker"), str, place, "speaker")
        text = " ".join(str(expect(utterance.get("content", ""), (str, type(None)), place, "content") or "").split())
        if not text:
            continue
        if blocks and blocks[-1][0] == speaker:
            blocks[-1] = (speaker, blocks[-1][1] + " " + text)
        else:
            blocks.append((speaker, text))
    turns, prompt = [], ""
    for speaker, text in blocks:
        if speaker == SUPPORTER:
            prompt = text
        elif speaker == SEEKER:
            turns.append({"prompt": prompt, "response": text, "importance": -1})
            prompt = ""
    return turns


def esconv_records(dialogues: list[dict], source: str = "ESConv") -> list[dict]:
    """One `interviews` record per dialogue; malformed input raises a ValueError naming the file, the dialogue and
    the field."""
    records = []
    for i, dialogue in enumerate(expect(dialogues, list, source, "the file's top level (a list of dialogues)")):
        where = f"{source}: dialogue {i}"
        expect(dialogue, dict, where, "dialogue")
        turns = dialogue_turns(dialogue.get("dialog", []), where)
        if not turns:
            continue  # a dialogue in which the seeker never speaks has nothing to score
        survey = expect(dialogue.get("survey_score") or {}, dict, where, "survey_score")
        seeker = expect(survey.get("seeker") or {}, dict, where, "survey_score.seeker")
        intensity = seeker.get("initial_emotion_intensity")
        try:
            score = float(intensity) if intensity not in (None, "") else None
        except (TypeError, ValueError):
            raise ValueError(f"{where}: `survey_score.seeker.initial_emotion_intensity` must be a number (1-5), got "
                             f"{intensity!r}.") from None
        emotion = dialogue.get("emotion_type")
        if not isinstance(emotion, str) or not emotion.strip():
            raise ValueError(f"{where} (esconv-{i}) has no `emotion_type` (got {emotion!r}); ESConv dialogues "
                             "carry one (e.g. \"depression\", \"anxiety\"), from which `label` is derived. Check "
                             "that this is an ESConv file.")
        records.append(
            {
                "interview_id": f"esconv-{i}",
                "turns": turns,
                "score": score,
                "label": int(emotion.strip().lower() == "depression"),
            }
        )
    return records


def load_esconv(path: str | Path):
    """All dialogues of an ESConv JSON file as one `interviews` Dataset (dialogues without a score are dropped)."""
    from ..data import interviews_from_records

    dialogues = read_json_file(path)
    records = [r for r in esconv_records(dialogues, str(path)) if r["score"] is not None]
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
    save_dataset(dataset, args.output_dir)
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
