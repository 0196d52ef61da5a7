"""A saved folder is checked before it is used (issue 23, findings 2, 3, 4): a missing or damaged file, a link out
of the folder, an absurd size in a config or a list of the wrong length ends in one line naming the file or field
and what to do (exit 2 on the command line), through `predict`, the pipelines and `from_pretrained` alike; never
in silent garbage, a library's stack or minutes of allocation."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from depdetect.cli import main


@pytest.fixture
def texts(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"text": "I can't sleep and I feel empty."}) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def interviews(tmp_path) -> Path:
    path = tmp_path / "interviews.jsonl"
    path.write_text(json.dumps({"turns": [{"prompt": "How are you?", "response": "Tired all the time."}]}) + "\n",
                    encoding="utf-8")
    return path


def copy(models, kind: str, tmp_path) -> Path:
    folder = tmp_path / kind
    shutil.copytree(models[kind], folder)
    return folder


def refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def absurd_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes((10**15).to_bytes(8, "little") + data[8:])


@pytest.mark.parametrize("kind", ["hybrid", "dual_encoder"])
def test_a_folder_without_its_vocabulary_is_refused_not_read_as_unknown_words(models, tmp_path, texts, interviews,
                                                                              capsys, kind):
    folder = copy(models, kind, tmp_path)
    (folder / "tokenizer.json").unlink()
    line = refused(["predict", str(folder), str(texts if kind == "hybrid" else interviews), "-o",
                    str(tmp_path / "out.jsonl")], capsys)
    assert "tokenizer" in line and "vocabulary" in line
    assert not (tmp_path / "out.jsonl").exists()


def test_the_pipelines_refuse_a_tokenizer_that_is_not_the_models(models, tmp_path):
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    folder = copy(models, "hybrid", tmp_path)
    (folder / "tokenizer.json").unlink()
    model = HybridForSequenceClassification.from_pretrained(folder)
    with pytest.raises(ValueError, match="knows 5 tokens"):
        DepressionDetectionPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(folder))


@pytest.mark.parametrize("damage", [cut_in_half, absurd_header, lambda p: p.write_bytes(b"\x00" * 4)],
                         ids=["cut in half", "absurd header length", "4 bytes"])
@pytest.mark.parametrize("kind", ["hybrid", "dual_encoder"])
def test_damaged_weights_are_named_by_predict_and_from_pretrained(models, tmp_path, texts, interviews, capsys, kind,
                                                                  damage):
    import depdetect

    folder = copy(models, kind, tmp_path)
    damage(folder / "model.safetensors")
    line = refused(["predict", str(folder), str(texts if kind == "hybrid" else interviews)], capsys)
    assert "model.safetensors" in line and "damaged" in line
    cls = depdetect.HybridForSequenceClassification if kind == "hybrid" else depdetect.DualEncoderForDepressionScoring
    with pytest.raises(ValueError, match="model.safetensors is damaged"):
        cls.from_pretrained(folder)


def test_a_path_that_does_not_exist_is_not_taken_for_a_hub_id(tmp_path):
    import depdetect

    for cls in (depdetect.HybridForSequenceClassification, depdetect.DualEncoderForDepressionScoring):
        with pytest.raises(FileNotFoundError, match="No such model folder"):
            cls.from_pretrained(str(tmp_path / "no" / "dir"))


@pytest.mark.parametrize("field, value", [("num_hidden_layers", 100_000), ("intermediate_size", 10**9),
                                          ("num_attention_heads", 10**7)])
def test_every_size_field_of_a_saved_encoder_config_is_bounded_before_allocating(models, tmp_path, texts, capsys,
                                                                                 field, value):
    folder = copy(models, "hybrid", tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["encoder_config"][field] = value
    (folder / "config.json").write_text(json.dumps(config))
    start = time.monotonic()
    line = refused(["predict", str(folder), str(texts)], capsys)
    assert f"encoder_config.{field}" in line and "refused before allocating" in line
    assert time.monotonic() - start < 60


def test_the_pipeline_refuses_a_max_length_beyond_the_encoders_positions(models):
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    pipe = DepressionDetectionPipeline(model=HybridForSequenceClassification.from_pretrained(models["hybrid"]),
                                       tokenizer=AutoTokenizer.from_pretrained(models["hybrid"]))
    with pytest.raises(ValueError, match="max_length"):
        pipe("I feel sad", max_length=5000)


def test_doris_refuses_tree_files_that_are_links_out_of_its_folder(models, tmp_path, capsys):
    folder = copy(models, "doris", tmp_path)
    other = tmp_path / "elsewhere.json"
    shutil.copy(folder / "xgboost_model.json", other)
    (folder / "xgboost_model.json").unlink()
    (folder / "xgboost_model.json").symlink_to(other)
    users = tmp_path / "users.jsonl"
    users.write_text(json.dumps({"user_id": "u", "posts": [{"text": "I feel low."}]}) + "\n")
    line = refused(["predict", str(folder), str(users)], capsys)
    assert "xgboost_model.json" in line and "outside" in line
    from depdetect import DorisPipeline

    with pytest.raises(ValueError, match="outside"):
        DorisPipeline.from_pretrained(folder)


def test_a_link_inside_the_folder_is_fine(models, tmp_path):
    from depdetect import DorisPipeline

    folder = copy(models, "doris", tmp_path)
    (folder / "trees.json").write_bytes((folder / "xgboost_model.json").read_bytes())
    (folder / "xgboost_model.json").unlink()
    (folder / "xgboost_model.json").symlink_to("trees.json")
    assert DorisPipeline.from_pretrained(folder).booster is not None


@pytest.mark.parametrize("damage", [cut_in_half, lambda p: p.write_text("garbage")], ids=["cut", "garbage"])
def test_a_damaged_doris_tree_file_is_named_in_one_line(models, tmp_path, capsys, damage):
    from depdetect import DorisPipeline

    folder = copy(models, "doris", tmp_path)
    damage(folder / "xgboost_model.json")
    with pytest.raises(ValueError) as error:
        DorisPipeline.from_pretrained(folder)
    message = str(error.value)
    assert "xgboost_model.json" in message and "\n" not in message and "Stack trace" not in message
    assert len(message) < 400


@pytest.mark.parametrize("field, value", [("emotion_cutoffs", [0.3]), ("emotion_cutoffs", [0.1] * 9),
                                          ("emotion_cutoffs", [0.1, 0.1, None, 0.1, 0.1]), ("risk_cutoff", "high")])
def test_a_doris_config_with_a_list_of_the_wrong_length_is_refused(models, tmp_path, field, value):
    from depdetect import DorisPipeline

    folder = copy(models, "doris", tmp_path)
    config = json.loads((folder / "doris_config.json").read_text())
    config[field] = value
    (folder / "doris_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=field):
        DorisPipeline.from_pretrained(folder)


def test_annotator_thresholds_must_cover_every_symptom(models, tmp_path):
    from depdetect import DorisPipeline

    folder = copy(models, "doris", tmp_path)
    config = json.loads((folder / "doris_config.json").read_text())
    config["annotator_state"]["thresholds"] = config["annotator_state"]["thresholds"][:3]
    (folder / "doris_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="thresholds"):
        DorisPipeline.from_pretrained(folder)


def test_sharded_weights_are_checked_shard_by_shard(models, tmp_path, texts, capsys):
    from depdetect import HybridForSequenceClassification

    folder = tmp_path / "sharded"
    model = HybridForSequenceClassification.from_pretrained(models["hybrid"])
    model.save_pretrained(folder, max_shard_size="200KB")
    shutil.copy(models["hybrid"] / "tokenizer.json", folder)
    shutil.copy(models["hybrid"] / "tokenizer_config.json", folder)
    assert not (folder / "model.safetensors").exists() and (folder / "model.safetensors.index.json").exists()
    main(["predict", str(folder), str(texts), "-o", str(tmp_path / "out.jsonl")])  # a whole sharded folder: fine
    shard = sorted(folder.glob("model-*.safetensors"))[-1]
    cut_in_half(shard)
    line = refused(["predict", str(folder), str(texts)], capsys)
    assert shard.name in line and "damaged" in line
