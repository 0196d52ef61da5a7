from __future__ import annotations

import json

import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, DatasetDict

from depdetect.data import normalize_labels, stratified_splits
from depdetect.hybrid.arguments import PostsDataArguments
from depdetect.hybrid.data import load_posts, load_rmhd
from depdetect.schemas import check_texts


def posts(**kwargs):
    return PostsDataArguments(**kwargs)


def test_normalize_labels_accepts_indices_and_names():
    assert normalize_labels([0, 1, "1", "depression", "Control", 1.0, True], ["control", "depression"]) == [
        0,
        1,
        1,
        1,
        0,
        1,
        1,
    ]


@pytest.mark.parametrize("bad", ["depressed", 2, -1, 0.5, None])
def test_normalize_labels_rejects_unknown_values(bad):
    with pytest.raises(ValueError, match="row 1 has label"):
        normalize_labels([0, bad], ["control", "depression"])


def test_check_texts_names_the_bad_item():
    with pytest.raises(ValueError, match=r"inputs\[2\] must be a string, got int"):
        check_texts(["a", "b", 3])
    with pytest.raises(ValueError, match="empty list"):
        check_texts([])


def write(path, rows, kind="csv"):
    frame = pd.DataFrame(rows)
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        path.write_text("\n".join(json.dumps(r) for r in rows))
    return str(path)


ROWS = [{"text": f"post number {i}", "label": "depression" if i % 4 == 0 else "control"} for i in range(40)]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_load_posts_from_a_single_file_splits_it_stratified(tmp_path, kind):
    data = load_posts(posts(train_file=write(tmp_path / f"train.{kind}", ROWS, kind)), seed=1)
    assert set(data) == {"train", "validation", "test"}
    assert sum(len(s) for s in data.values()) == 40
    assert data["train"].features["label"].names == ["control", "depression"]
    for split in data.values():  # 1 in 4 positive everywhere
        assert abs(sum(split["label"]) / len(split) - 0.25) < 0.1


def test_load_posts_keeps_given_validation_and_test_files(tmp_path):
    data = load_posts(posts(
        train_file=write(tmp_path / "a.csv", ROWS),
        validation_file=write(tmp_path / "b.csv", ROWS[:8]),
        test_file=write(tmp_path / "c.jsonl", ROWS[8:12], "jsonl"),
    ))
    assert (len(data["train"]), len(data["validation"]), len(data["test"])) == (40, 8, 4)


def test_missing_text_column_is_a_clear_error(tmp_path):
    path = write(tmp_path / "t.csv", [{"body": "x", "label": 0}] * 4)
    with pytest.raises(ValueError, match="no `text` column.*--text_column"):
        load_posts(posts(train_file=path))


def test_other_column_names_can_be_mapped(tmp_path):
    path = write(tmp_path / "t.csv", [{"body": f"x {i}", "y": i % 2} for i in range(20)])
    data = load_posts(posts(train_file=path, text_column="body", label_column="y"))
    assert len(data["train"]) + len(data["validation"]) + len(data["test"]) == 20


@pytest.mark.parametrize(
    "bad_text, message", [("", r"t.jsonl:3 `text` is empty"), (None, r"t.jsonl:3 `text` is None")]
)
def test_empty_or_missing_text_is_reported_with_its_row(tmp_path, bad_text, message):
    rows = [dict(r) for r in ROWS]
    rows[2]["text"] = bad_text
    with pytest.raises(ValueError, match=message):
        load_posts(posts(train_file=write(tmp_path / "t.jsonl", rows, "jsonl")))


def test_unknown_label_is_reported(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[5]["label"] = "sad"
    with pytest.raises(ValueError, match="t.csv:7 has label 'sad'"):  # row 5 is line 7 (after the header)
        load_posts(posts(train_file=write(tmp_path / "t.csv", rows)))


def test_load_posts_from_a_saved_datasetdict(tmp_path):
    ds = Dataset.from_pandas(pd.DataFrame(ROWS))
    DatasetDict(train=ds, test=ds.select(range(4))).save_to_disk(str(tmp_path / "dd"))
    data = load_posts(posts(dataset_name=str(tmp_path / "dd")))
    assert len(data["test"]) == 4 and len(data["train"]) + len(data["validation"]) == 40


def test_stratified_splits_are_reproducible_and_disjoint():
    base = Dataset.from_dict({"text": [f"t{i}" for i in range(100)], "label": [i % 2 for i in range(100)]})
    base = base.cast_column("label", ClassLabel(names=["control", "depression"]))
    a, b = stratified_splits(base, seed=3), stratified_splits(base, seed=3)
    assert a["test"]["text"] == b["test"]["text"]
    assert (len(a["train"]), len(a["validation"]), len(a["test"])) == (70, 15, 15)
    assert not set(a["train"]["text"]) & set(a["test"]["text"])


def test_rmhd_default_is_depression_vs_ten_control_subreddits():
    data = load_rmhd(seed=42)
    labels = [y for split in data.values() for y in split["label"]]
    assert labels.count(1) == 260 and labels.count(0) == 2600
    assert len(data["test"]) == 429 and sum(data["test"]["label"]) == 39
    assert data["test"]["text"] == load_rmhd(seed=42)["test"]["text"]


def test_a_line_that_is_not_a_record_is_named(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "label": 0}\n"just a text"\n')
    with pytest.raises(ValueError, match="t.jsonl:2: expected a record with `text` and `label`, got str"):
        load_posts(posts(train_file=str(path)))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json"])
def test_a_byte_order_mark_is_read_away_by_the_one_reader(tmp_path, suffix):
    """Issue 23, finding 5: a file saved by a Windows tool starts with a BOM; `train` then missed its `text` column
    (the first column's name became "\\ufefftext")."""
    from depdetect.data import read_records

    rows = [{"text": "I feel low", "label": "1"}, {"text": "Nice walk", "label": "0"}]
    if suffix in (".csv", ".tsv"):
        sep = "," if suffix == ".csv" else "\t"
        content = f"text{sep}label\n" + "".join(f"{r['text']}{sep}{r['label']}\n" for r in rows)
    elif suffix == ".jsonl":
        content = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        content = json.dumps(rows)
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    assert [r for _, r in read_records(path)] == rows


def test_training_reads_a_csv_with_a_byte_order_mark(tmp_path):
    lines = ["text,label"] + [f"post number {i} about my day,{i % 2}" for i in range(12)]
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    splits = load_posts(PostsDataArguments(train_file=str(path)))
    assert sum(len(s) for s in splits.values()) == 12
