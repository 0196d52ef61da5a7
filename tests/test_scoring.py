"""Streaming, sharded `predict` / `evaluate` (depdetect.scoring): the input read as it is needed, a bad record
anywhere leaving no output, and several processes (torchrun, gloo) giving one process's output in input order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from depdetect.cli import main
from depdetect.data import iter_records
from depdetect.scoring import csv_cells, merged_lines, shard_name, spooled_stdin

from .test_cli import TEXTS, read_jsonl, write_jsonl
from .test_multiprocess import two_processes


def test_records_are_read_as_they_are_needed(tmp_path):
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "one"}\n{"text": "two"}\nnot json\n')
    records = iter_records(path)
    assert next(records) == (f"{path}:1", {"text": "one"})  # read before the bad line is reached
    assert next(records)[1] == {"text": "two"}
    with pytest.raises(ValueError, match=r"texts.jsonl:3 is not valid JSON"):
        next(records)
    table = tmp_path / "texts.csv"
    table.write_bytes(b'\xef\xbb\xbftext,id\n"two\nlines",1\nplain,2\n')  # a BOM, a quoted field over two lines
    assert list(iter_records(table)) == [(f"{table}:3", {"text": "two\nlines", "id": "1"}),
                                         (f"{table}:4", {"text": "plain", "id": "2"})]
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"text\nok\ncaf\xe9\n")
    with pytest.raises(ValueError, match=r"line 3 is not valid utf-8 \(byte 0xe9\)"):
        list(iter_records(latin))


def test_a_bad_record_at_the_end_of_a_long_input_leaves_no_output(models, tmp_path, capsys):
    source = tmp_path / "texts.jsonl"
    with source.open("w") as out:
        for i in range(20_000):
            out.write(json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)]}) + "\n")
        out.write(json.dumps({"id": "last", "text": ""}) + "\n")
    target = tmp_path / "out" / "predictions.jsonl"
    with pytest.raises(SystemExit):
        main(["predict", str(models["hybrid"]), str(source), "-o", str(target), "--no_explain"])
    assert "texts.jsonl:20001 `text` is empty" in capsys.readouterr().err
    assert not target.parent.exists() or not list(target.parent.iterdir())


def test_shards_merge_back_in_input_order(tmp_path):
    rows = [json.dumps({"n": i}) + "\n" for i in range(11)]
    shards = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]  # batch size 3: batches 0, 2 to a; 1, 3 to b
    shards[0].write_text("".join(rows[0:3] + rows[6:9]))
    shards[1].write_text("".join(rows[3:6] + rows[9:11]))
    assert list(merged_lines(shards, 11, 3)) == rows
    shards[1].write_text("".join(rows[3:6]))
    with pytest.raises(RuntimeError, match="ended early"):
        list(merged_lines(shards, 11, 3))
    assert shard_name(Path("out/p.jsonl"), 1, 2) == Path("out/p-00001-of-00002.jsonl")


def test_standard_input_is_refused_under_several_processes(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # only one of torchrun's processes would get the data
    with pytest.raises(ValueError, match=r"'-' \(standard input\) cannot be shared .* pass its path"):
        with spooled_stdin("-"):
            pass
    with spooled_stdin("texts.jsonl") as path:  # a file is fine
        assert path == "texts.jsonl"


def test_csv_cells_keep_scalars_and_write_structures_as_json():
    cells = csv_cells({"id": 3, "label": "depression", "top_tokens": [{"token": "sad", "score": 0.5}]})
    assert cells == {"id": 3, "label": "depression", "top_tokens": '[{"token": "sad", "score": 0.5}]'}


torchrun = two_processes  # `torchrun --standalone --nproc_per_node 2 -m depdetect.cli ARGV` on the CPU


def test_two_processes_predict_and_evaluate_as_one(models, tmp_path):
    source = write_jsonl(tmp_path / "texts.jsonl", [{"id": f"t{i}", "text": TEXTS[i % len(TEXTS)] + f" {i}"}
                                                    for i in range(23)])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    main(["predict", str(models["hybrid"]), source, "-o", str(one), "--batch_size", "4"])
    done = torchrun(["predict", str(models["hybrid"]), source, "-o", str(two), "--batch_size", "4",
                     "--device", "cpu"], tmp_path)
    assert "Wrote 23 predictions" in done.stderr and "2 processes" in done.stderr
    expected, got = read_jsonl(one), read_jsonl(two)
    assert [r["record"] for r in got] == [r["record"] for r in expected] == [f"{source}:{i}" for i in range(1, 24)]
    for a, b in zip(expected, got):
        assert b["label"] == a["label"] and b["probability"] == pytest.approx(a["probability"], abs=1e-5)
        assert [t["token"] for t in b["tokens"]] == [t["token"] for t in a["tokens"]]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left

    torchrun(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "parts.csv"), "--batch_size", "4",
              "--no_explain", "--shard_outputs"], tmp_path)
    parts = [tmp_path / f"parts-0000{i}-of-00002.csv" for i in range(2)]
    firsts = [p.read_text().splitlines()[1].split(",")[0] for p in parts]
    assert firsts == [f"{source}:1", f"{source}:5"]  # batch 0 (records 1-4) and batch 1 (records 5-8)
    assert sum(len(p.read_text().splitlines()) - 1 for p in parts) == 23

    data = str(labelled(tmp_path, 23))
    single = main(["evaluate", str(models["hybrid"]), data, "--no_plots", "--baselines", "none",
                   "--bootstrap_resamples", "0", "-o", str(tmp_path / "e1.json")])
    torchrun(["evaluate", str(models["hybrid"]), data, "--no_plots", "--baselines", "none", "--bootstrap_resamples",
              "0", "-o", str(tmp_path / "e2.json"), "--device", "cpu"], tmp_path)
    double = json.loads((tmp_path / "e2.json").read_text())
    assert double["num_records"] == single["num_records"] == 23
    for key, value in single["metrics"].items():
        assert double["metrics"][key] == pytest.approx(value, abs=1e-5, nan_ok=True), key


def labelled(folder: Path, count: int) -> Path:
    path = folder / "labelled.jsonl"
    path.write_text("".join(json.dumps({"text": TEXTS[i % len(TEXTS)] + f" {i}", "label": i % 2}) + "\n"
                            for i in range(count)))
    return path


def test_doris_splits_its_own_work_and_writes_one_file(models, cohort, tmp_path):
    source = tmp_path / "users.jsonl"
    source.write_text("".join(json.dumps(u) + "\n" for u in cohort["test"].to_list()[:5]))
    main(["predict", str(models["doris"]), str(source), "-o", str(tmp_path / "one.jsonl"), "--no_explain"])
    torchrun(["predict", str(models["doris"]), str(source), "-o", str(tmp_path / "two.jsonl"), "--no_explain",
              "--batch_size", "2"], tmp_path)
    one, two = read_jsonl(tmp_path / "one.jsonl"), read_jsonl(tmp_path / "two.jsonl")
    assert [r["record"] for r in two] == [r["record"] for r in one]
    assert [r["probability"] for r in two] == pytest.approx([r["probability"] for r in one], abs=1e-5)
    with pytest.raises(ValueError, match="splits its work across processes itself"):
        from depdetect.scoring import score_all

        score_all(lambda: [], None, None, total=1, batch_size=1, unit="user", output=tmp_path / "x.jsonl",
                  fmt="jsonl", splits_work_itself=True, shard_outputs=True)


def test_interviews_are_shared_among_processes_too(models, tmp_path):
    turns = [{"prompt": "How have you been sleeping?", "response": "Badly."}, {"prompt": "", "response": "Flat."}]
    source = tmp_path / "interviews.jsonl"
    source.write_text("".join(json.dumps({"interview_id": f"i{i}", "turns": turns[: 1 + i % 2]}) + "\n"
                              for i in range(7)))
    main(["predict", str(models["dual_encoder"]), str(source), "-o", str(tmp_path / "one.jsonl"),
          "--batch_size", "2"])
    done = torchrun(["predict", str(models["dual_encoder"]), str(source), "-o", str(tmp_path / "two.jsonl"),
                     "--batch_size", "2", "--device", "cpu"], tmp_path)
    assert "2 processes" in done.stderr
    one, two = read_jsonl(tmp_path / "one.jsonl"), read_jsonl(tmp_path / "two.jsonl")
    assert [r["interview_id"] for r in two] == [r["interview_id"] for r in one] == [f"i{i}" for i in range(7)]
    assert [r["severity"] for r in two] == pytest.approx([r["severity"] for r in one], abs=1e-5)
    assert [t["attention"] for r in two for t in r["turns"]] == pytest.approx(
        [t["attention"] for r in one for t in r["turns"]], abs=1e-5)
