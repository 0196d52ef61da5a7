from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from depdetect.arguments import DataArguments
from depdetect.corpora import daic_woz, esconv, interviews_jsonl
from depdetect.corpora.common import write_jsonl
from depdetect.dual_encoder.data import (
    InterviewCollator,
    check_turns,
    interviews_from_records,
    load_interviews,
    tokenize_interviews,
)


def test_check_turns_fills_unknown_importance_and_allows_an_empty_prompt():
    turns = check_turns([{"prompt": None, "response": "hi"}, {"prompt": "Q", "response": "A", "importance": 1}], "x")
    assert turns == [
        {"prompt": "", "response": "hi", "importance": -1},
        {"prompt": "Q", "response": "A", "importance": 1},
    ]


@pytest.mark.parametrize(
    "turns, message",
    [
        ([], "has no turns"),
        (None, "must be a list"),
        ([{"prompt": "Q", "response": ""}], "turn 0 `response` is empty"),
        ([{"prompt": "Q"}], "turn 0 `response` is None"),
        ([{"prompt": "Q", "response": "A", "importance": 2}], "importance"),
        (["just text"], "turn 0: expected a dict"),
    ],
)
def test_bad_turns_are_clear_errors(turns, message):
    with pytest.raises(ValueError, match=message):
        check_turns(turns, "interview 'p1'")


@pytest.mark.parametrize("score", [None, float("nan")])
def test_missing_or_nan_scores_are_errors(score):
    with pytest.raises(ValueError, match="has no score"):
        interviews_from_records(
            [{"interview_id": "p1", "score": score, "turns": [{"prompt": "", "response": "x"}]}], "f"
        )


def test_collator_pads_turns_and_tokens_and_derives_labels_from_scores(tokenizer):
    records = [
        {
            "interview_id": "a",
            "score": 14.0,
            "turns": [{"prompt": "Q1", "response": "a long answer here"}, {"prompt": "", "response": "b"}],
        },
        {"interview_id": "b", "score": 2.0, "turns": [{"prompt": "Q", "response": "fine", "importance": 1}]},
    ]
    ds = tokenize_interviews(interviews_from_records(records, "t"), tokenizer, 16)
    batch = InterviewCollator(tokenizer.pad_token_id, num_labels=2, score_threshold=10.0)(
        [dict(r, index=i) for i, r in enumerate(ds)]
    )
    assert batch["input_ids"].shape[:2] == (2, 2) and batch["turn_mask"].tolist() == [[1, 1], [1, 0]]
    assert batch["labels"].tolist() == [1, 0]  # from PHQ-8 style scores: 14 >= 10, 2 < 10
    assert batch["importance"].tolist() == [[-1, -1], [1, -1]]
    assert batch["index"].tolist() == [0, 1]
    assert batch["attention_mask"][1, 1].sum() == 0  # the padding turn has no tokens
    regression = InterviewCollator(tokenizer.pad_token_id)([dict(r) for r in ds])
    assert regression["labels"].dtype == torch.float32 and regression["labels"].tolist() == [14.0, 2.0]


def test_esconv_turns_pair_the_supporter_with_the_next_seeker_block():
    dialog = [
        {"speaker": "speaker", "content": "Hi"}, {"speaker": "speaker", "content": "I feel low."},
        {"speaker": "listener", "content": "I'm sorry."}, {"speaker": "listener", "content": "Since when?"},
        {"speaker": "speaker", "content": "Weeks."}, {"speaker": "listener", "content": "Take care."},
    ]
    assert esconv.dialogue_turns(dialog) == [
        {"prompt": "", "response": "Hi I feel low.", "importance": -1},
        {"prompt": "I'm sorry. Since when?", "response": "Weeks.", "importance": -1},
    ]


def test_an_esconv_format_file_gives_one_scored_interview_per_dialogue(esconv_file):
    data = esconv.load_esconv(esconv_file)
    assert len(data) == 40 and sum(data["label"]) == 16  # 16 dialogues have emotion_type "depression"
    assert set(data["score"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert all(t["response"] for turns in data["turns"] for t in turns)
    assert all(turns[0]["prompt"] == "" and turns[1]["prompt"] for turns in data["turns"])  # the seeker opens


def write_daic(root: Path) -> None:
    """Two sessions and the three split files, in DAIC-WOZ's own formats."""
    transcripts = {
        "300": [
            ("0.0", "1.0", "Ellie", "hi i'm ellie"),
            ("1.5", "2.0", "Participant", "hi <laughter>"),
            ("3.0", "4.0", "Ellie", "how are you doing today"),
            ("4.5", "5.0", "Participant", "not so good"),
            ("5.1", "6.0", "Participant", "i can't sleep [sync]"),
            ("7.0", "8.0", "Ellie", "i'm sorry to hear that"),
            ("9.0", "9.5", "Participant", "scrubbed_entry"),
        ],
        "373": [
            ("300.0", "301.0", "Ellie", "where are you from"),
            ("302.0", "303.0", "Participant", "the east coast"),
            ("360.0", "361.0", "Ellie", "interrupted question"),
            ("362.0", "363.0", "Participant", "interrupted answer"),
            ("430.0", "431.0", "Ellie", "how do you sleep"),
            ("432.0", "433.0", "Participant", "fine"),
        ],
    }
    for session, rows in transcripts.items():
        folder = root / f"{session}_P"
        folder.mkdir(parents=True)
        lines = ["start_time\tstop_time\tspeaker\tvalue"] + ["\t".join(r) for r in rows]
        (folder / f"{session}_TRANSCRIPT.csv").write_text("\n".join(lines) + "\n")
    (root / "train_split_Depression_AVEC2017.csv").write_text(
        "Participant_ID,PHQ8_Binary,PHQ8_Score,Gender\n300,1,15,1\n"
    )
    (root / "dev_split_Depression_AVEC2017.csv").write_text(
        "Participant_ID,PHQ8_Binary,PHQ8_Score,Gender\n373,0,4,0\n"
    )
    (root / "full_test_split.csv").write_text("Participant_ID,PHQ_Binary,PHQ_Score,Gender\n300,1,15,1\n")


def test_daic_woz_merges_participant_lines_cleans_annotations_and_drops_interruptions(tmp_path):
    write_daic(tmp_path)
    data = daic_woz.load_daic_woz(tmp_path)
    first = data["train"][0]
    assert (first["interview_id"], first["score"], first["label"]) == ("300", 15.0, 1)
    assert first["turns"] == [
        {"prompt": "hi i'm ellie", "response": "hi", "importance": -1},
        {"prompt": "how are you doing today", "response": "not so good i can't sleep", "importance": -1},
    ]  # the scrubbed_entry-only line leaves nothing to pair
    dev = data["validation"][0]["turns"]
    assert [t["response"] for t in dev] == ["the east coast", "fine"]  # 6:00-6:03 lies in session 373's interruption
    assert data["test"][0]["score"] == 15.0


def test_daic_woz_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_split_Depression_AVEC2017.csv"):
        daic_woz.load_daic_woz(tmp_path)


def test_interviews_jsonl_round_trip_and_splits(tmp_path):
    records = [{"interview_id": f"p{i}", "score": float(i % 7), "label": i % 2,
                "turns": [{"prompt": "Q", "response": f"answer {i}", "importance": i % 2}]} for i in range(40)]
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    loaded = interviews_jsonl.load_jsonl(path)
    write_jsonl(loaded, tmp_path / "again.jsonl")
    assert interviews_jsonl.load_jsonl(tmp_path / "again.jsonl").to_list() == loaded.to_list()
    data = load_interviews(DataArguments(train_file=str(path)))
    assert sum(len(s) for s in data.values()) == 40 and set(data) == {"train", "validation", "test"}


def test_malformed_jsonl_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"interview_id": "a", "score": 1, "turns": [{"prompt": "", "response": "x"}]}\n{oops\n')
    with pytest.raises(ValueError, match="bad.jsonl:2 is not valid JSON"):
        load_interviews(DataArguments(train_file=str(path)))


def test_no_data_for_the_dual_encoder_is_a_clear_error():
    with pytest.raises(ValueError, match="no bundled corpus"):
        load_interviews(DataArguments())
