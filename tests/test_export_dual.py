"""`depdetect export` of the MHIM dual encoder (depdetect.dual_encoder.export): two graphs (turn encoder, head) and
a runner that gives the torch model's severities, attentions and occlusions (fp32 to 1e-4, int8 within a stated
tolerance), read by the pipeline, `depdetect predict` and `evaluate`; the unpacked BiLSTM both exporters use."""

from __future__ import annotations

import json

import onnx
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from depdetect import DepressionScoringPipeline, DualEncoderConfig, DualEncoderForDepressionScoring
from depdetect.cli import main
from depdetect.dual_encoder.export import OnnxDualEncoder
from depdetect.export import export_model
from depdetect.export_lstm import UnpackedBiLSTM

from .conftest import TINY_BERT
from .test_cli import read_jsonl, write_jsonl

LONG = " ".join(["I lie awake and nothing I do seems to matter to anyone at all"] * 6)
#: interviews of one, three and six turns, short and long turns (chunks of several lengths), an empty prompt
INTERVIEWS = [
    [{"prompt": "How are you?", "response": "fine"}],
    [{"prompt": "How have you been sleeping?", "response": "Badly, I wake at four."},
     {"prompt": "", "response": LONG}, {"prompt": "And work?", "response": "ok"}],
    [{"prompt": f"Question {i}?", "response": ("so tired " * (i + 1)).strip()} for i in range(6)],
]


@pytest.mark.parametrize("layers", [1, 2])
def test_the_unpacked_bilstm_equals_the_packed_one_at_real_positions(layers):
    torch.manual_seed(layers)
    lstm = torch.nn.LSTM(5, 3, num_layers=layers, batch_first=True, bidirectional=True)
    x, lengths = torch.randn(3, 6, 5), torch.tensor([6, 2, 4])
    packed, _ = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=6)
    got = UnpackedBiLSTM(lstm)(x, lengths)
    real = torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)
    assert torch.allclose(got[real], expected[real], atol=1e-6)
    assert not torch.allclose(got[:, :, 3:][real], UnpackedBiLSTM(lstm)(x.flip(1), lengths)[:, :, 3:][real])


@pytest.fixture(scope="module")
def dual(tmp_path_factory, tokenizer):
    """A tiny dual encoder whose severity and attention depend visibly on the turns (its head and attention
    sharpened), two BiLSTM layers and chunks of two turns; saved, then exported fp32 and int8."""
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(3)
    model = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, lstm_num_layers=2, max_turn_length=32, score_mean=10.0, score_std=4.0,
        encoder_batch_size=2)).eval()
    with torch.no_grad():
        for layer in (model.prefix_projection, model.sentence_projection):
            layer.weight.normal_(0, 1.0)
        model.attention.proj.weight.normal_(0, 2.0)
        model.attention.context.weight.normal_(0, 3.0)
        model.head.weight.normal_(0, 3.0)
    root = tmp_path_factory.mktemp("dual_exports")
    model.save_pretrained(root / "torch")
    tokenizer.save_pretrained(root / "torch")
    infos = {name: export_model(str(root / "torch"), str(root / name), quantize=quantize)
             for name, quantize in (("fp32", None), ("int8", "int8"))}
    return {"root": root, "model": model, "info": infos}


def outputs(model, tokenizer, explain="occlusion"):
    scorer = DepressionScoringPipeline(model=model, tokenizer=tokenizer, device="cpu")
    return scorer([{"turns": t} for t in INTERVIEWS], explain=explain, batch_size=2)


def largest_change(expected, got) -> dict:
    change = {"severity": max(abs(e["severity"] - g["severity"]) for e, g in zip(expected, got))}
    for name in ("attention", "occlusion"):
        change[name] = max(abs(a[name] - b[name]) for e, g in zip(expected, got)
                           for a, b in zip(e["turns"], g["turns"]))
    return change


def test_onnx_severities_attentions_and_occlusions_equal_torch(dual, tokenizer):
    expected = outputs(dual["model"], tokenizer)
    severities = [o["severity"] for o in expected]
    assert max(severities) - min(severities) > 1  # the model's answer depends on the interview: a real test
    assert max(t["attention"] for t in expected[1]["turns"]) > 0.45  # and its attention on the turn
    for name, tolerance in (("fp32", 1e-4), ("int8", 0.1)):
        config = DualEncoderConfig.from_pretrained(dual["root"] / name)
        got = outputs(OnnxDualEncoder(dual["root"] / name, config), tokenizer)
        assert [len(o["turns"]) for o in got] == [1, 3, 6]
        assert all(sum(t["attention"] for t in o["turns"]) == pytest.approx(1, abs=1e-5) for o in got)
        change = largest_change(expected, got)
        print(name, change)  # shown with -s: what the stated tolerance leaves
        assert max(change.values()) <= tolerance, (name, change)
    fp32, int8 = dual["info"]["fp32"], dual["info"]["int8"]
    assert fp32["system"] == "dual_encoder" and fp32["graph"]["extra_graphs"] == ["head.onnx"]
    assert fp32["graph"]["explanations"] == ["attention", "occlusion"] and int8["quantization"] == "int8"
    assert {p.name for p in (dual["root"] / "int8").iterdir()} >= {"model.onnx", "head.onnx", "export.json",
                                                                  "config.json", "tokenizer.json"}
    head = onnx.load(str(dual["root"] / "fp32" / "head.onnx")).graph  # any number of turns, without ORT's warnings
    attentions = next(o for o in head.output if o.name == "attentions").type.tensor_type.shape.dim
    assert [d.dim_param for d in attentions] == ["batch", "turns"] and not head.value_info
    size = {name: (dual["root"] / name / "model.onnx").stat().st_size for name in ("fp32", "int8")}
    assert size["int8"] < size["fp32"] / 2


def test_the_runner_hides_turns_as_the_model_does(dual, tokenizer):
    scorer = DepressionScoringPipeline(model=dual["model"], tokenizer=tokenizer)
    inputs = scorer.preprocess({"turns": INTERVIEWS[2]})
    inputs.pop("turns")
    hidden = torch.tensor([[0, 1, 0, 0, 1, 1]])
    runner = OnnxDualEncoder(dual["root"] / "fp32", DualEncoderConfig.from_pretrained(dual["root"] / "fp32"))
    with torch.no_grad():
        expected = dual["model"](**inputs, instance_mask=hidden)
    got = runner(**inputs, instance_mask=hidden)
    assert torch.allclose(got.scores, expected.scores, atol=1e-4)
    assert torch.allclose(got.attentions, expected.attentions, atol=1e-5) and float(got.attentions[0, 1]) == 0
    with pytest.raises(ValueError, match="no turn left to read"):
        runner(**inputs, instance_mask=torch.ones(1, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, turns, tokens\)"):
        runner(input_ids=inputs["input_ids"][0], attention_mask=inputs["attention_mask"][0])


def test_predict_and_evaluate_read_a_dual_encoder_export(dual, tmp_path, capsys):
    rows = [{"interview_id": f"i{n}", "turns": turns, "score": float(5 * n)} for n, turns in enumerate(INTERVIEWS)]
    source = write_jsonl(tmp_path / "interviews.jsonl", rows)
    main(["predict", str(dual["root"] / "torch"), source, "-o", str(tmp_path / "torch.jsonl")])
    main(["predict", str(dual["root"] / "fp32"), source, "-o", str(tmp_path / "onnx.jsonl")])
    assert "without explanations" not in capsys.readouterr().err  # attention survives export
    expected, got = read_jsonl(tmp_path / "torch.jsonl"), read_jsonl(tmp_path / "onnx.jsonl")
    assert [r.keys() for r in got] == [r.keys() for r in expected]
    assert [r["severity"] for r in got] == pytest.approx([r["severity"] for r in expected], abs=1e-4)
    assert [t["attention"] for r in got for t in r["turns"]] == pytest.approx(
        [t["attention"] for r in expected for t in r["turns"]], abs=1e-5)
    torch_eval, onnx_eval = (main(["evaluate", str(dual["root"] / name), source, "--no_plots", "--baselines", "none",
                                   "--faithfulness", "--faithfulness_samples", "3", "--bootstrap_resamples", "20",
                                   "-o", str(tmp_path / f"{name}.json")]) for name in ("torch", "fp32"))
    assert onnx_eval["metrics"]["rmse"] == pytest.approx(torch_eval["metrics"]["rmse"], abs=1e-4)
    faith = [json.loads((tmp_path / f"{name}.json").read_text())["faithfulness"] for name in ("torch", "fp32")]
    for method in ("attention", "occlusion"):  # the explanations checked on the export as on the torch folder
        values = [f[method]["aopc_comprehensiveness"]["value"] for f in faith]
        assert values[1] == pytest.approx(values[0], abs=1e-4)
    (dual["root"] / "fp32" / "head.onnx").rename(tmp_path / "head.onnx")  # an incomplete copy is named
    try:
        with pytest.raises(SystemExit):
            main(["predict", str(dual["root"] / "fp32"), source])
        assert "head.onnx" in capsys.readouterr().err
    finally:
        (tmp_path / "head.onnx").rename(dual["root"] / "fp32" / "head.onnx")
    assert json.loads((dual["root"] / "int8" / "export.json").read_text())["optimization"] is not None
