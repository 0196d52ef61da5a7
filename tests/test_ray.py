"""depdetect.integrations.ray on a local Ray cluster with 2 CPU workers: Parquet in, Parquet out, the same
predictions as `depdetect predict`, and a bad record's message."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from depdetect.cli import main
from depdetect.integrations.ray import DorisScorer, DualEncoderScorer, HybridScorer, Scorer, plain

ray = pytest.importorskip("ray", reason="ray is not installed: `pip install -e .[ray]` (the test extra brings it)")

TEXTS = ["I feel lost and hopeless", "We bought a new car", "Nothing matters any more", "Great hike today",
         "I can't sleep again", "The cat knocked over a plant", "Everything is grey", "Pizza night!"] * 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # two scoring workers (one CPU each) and one more slot for Ray's read and write tasks: with every slot taken by
    # an actor, the reads could never be scheduled (Ray counts CPUs as scheduling slots, not cores)
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=200 * 2**20, _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield
    ray.shutdown()


def test_hybrid_scorer_maps_a_parquet_folder_to_parquet_with_two_workers(cluster, models, tmp_path):
    source = tmp_path / "posts"
    source.mkdir()
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(TEXTS))], "text": TEXTS})
    for part in range(3):  # a folder of Parquet files, as dumps come (three blocks for two workers)
        frame.iloc[part::3].to_parquet(source / f"part-{part}.parquet")
    scored = ray.data.read_parquet(str(source), override_num_blocks=3).map_batches(
        HybridScorer, fn_constructor_kwargs={"model": str(models["hybrid"]), "threads": 1}, batch_size=4,
        batch_format="pandas", concurrency=2, num_cpus=1)
    scored.write_parquet(str(tmp_path / "scored"))
    out = pd.read_parquet(tmp_path / "scored").set_index("id")
    assert sorted(out.index) == sorted(frame["id"]) and {"text", "label", "probability"} <= set(out.columns)
    main(["predict", str(models["hybrid"]), str(source / "part-0.parquet"), "--no_explain",
          "-o", str(tmp_path / "cli.jsonl")])
    cli = [json.loads(line) for line in (tmp_path / "cli.jsonl").read_text().splitlines()]
    expected = frame.iloc[0::3].reset_index(drop=True)
    for i, row in enumerate(cli):
        got = out.loc[expected["id"][i]]
        assert got["label"] == row["label"] and got["probability"] == pytest.approx(row["probability"], abs=1e-6)


def test_explanations_come_as_json_strings_and_a_gold_label_is_kept(models):
    batch = pd.DataFrame({"text": TEXTS[:2], "label": ["depression", "control"]})
    out = HybridScorer(str(models["hybrid"]), explain=True)(batch)
    assert list(out["input_label"]) == ["depression", "control"] and list(out.columns).count("label") == 1
    tokens = json.loads(out["tokens"][0])
    assert [t["token"] for t in tokens] == ["I", "feel", "lost", "and", "hopeless"] and "awvti" in tokens[0]


def test_the_interview_and_user_scorers_read_arrow_nested_columns(models, cohort, tmp_path):
    turns = [{"prompt": "How have you been?", "response": "Tired."}, {"prompt": "", "response": "Flat."}]
    interviews = pd.DataFrame({"interview_id": ["a", "b"], "turns": [turns, turns[:1]]})
    interviews.to_parquet(tmp_path / "i.parquet")
    out = DualEncoderScorer(str(models["dual_encoder"]))(pd.read_parquet(tmp_path / "i.parquet"))
    assert out["severity"].notna().all() and list(out["interview_id"]) == ["a", "b"]
    users = [{"user_id": u["user_id"], "posts": u["posts"]} for u in cohort["test"].to_list()[:2]]
    pd.DataFrame(users).to_parquet(tmp_path / "u.parquet")
    out = DorisScorer(str(models["doris"]))(pd.read_parquet(tmp_path / "u.parquet"))
    assert out["probability"].between(0, 1).all() and list(out["user_id"]) == [u["user_id"] for u in users]


def test_a_bad_record_or_the_wrong_system_is_said(models):
    with pytest.raises(ValueError, match="row 1 of a batch of 2 .*id='x'"):
        HybridScorer(str(models["hybrid"]))(pd.DataFrame({"id": ["ok", "x"], "text": ["fine", ""]}))
    with pytest.raises(ValueError, match="HybridScorer scores hybrid models; .* holds a doris model"):
        HybridScorer(str(models["doris"]))
    assert Scorer(str(models["dual_encoder"])).spec.name == "dual_encoder"
    assert plain({"a": [1, 2]}) == {"a": [1, 2]}
