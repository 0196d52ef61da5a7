"""`depdetect export` (depdetect.export, depdetect.hybrid.export): the Hybrid as an ONNX graph that gives the torch
model's probabilities (fp32 to 1e-4, int8 within 0.05 on a tiny random model), read back by `depdetect predict` and
`evaluate`, and refused where it cannot hold."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest
import torch

from depdetect import DepressionDetectionPipeline, HybridConfig, HybridForSequenceClassification
from depdetect.cli import main
from depdetect.export import OnnxModel, export_model
from depdetect.hybrid.export import ExportableHybrid

from .test_cli import TEXTS, read_jsonl, write_jsonl

#: short (fewer tokens than the widest CNN kernel), ordinary, and longer than the model reads
PROBES = ["sad", "I feel so empty", *TEXTS, " ".join(["nothing matters and I cannot sleep"] * 40)]


@pytest.mark.parametrize("layers,cnn,pooled", [(1, True, False), (2, True, True), (1, False, False)])
def test_the_unpacked_bilstm_gives_the_packed_ones_logits(tiny_config, tokenizer, layers, cnn, pooled):
    config = HybridConfig(**{**tiny_config.to_dict(), "lstm_num_layers": layers, "use_cnn": cnn,
                             "use_pooled_embedding": pooled})
    torch.manual_seed(layers)
    model = HybridForSequenceClassification(config).eval()
    batch = tokenizer(PROBES, padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
    with torch.no_grad():
        expected = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        got = ExportableHybrid(model)(batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.fixture(scope="module")
def exported(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    fp32 = export_model(str(models["hybrid"]), str(root / "fp32"))
    int8 = export_model(str(models["hybrid"]), str(root / "int8"), quantize="int8")
    return {"fp32": root / "fp32", "int8": root / "int8", "info": (fp32, int8)}


def probabilities(detector, texts):
    return torch.tensor([o["probability"] for o in detector(texts, explain=False, batch_size=4)])


def test_onnx_probabilities_equal_torch(models, exported, tokenizer):
    torch_model = HybridForSequenceClassification.from_pretrained(models["hybrid"]).eval()
    expected = probabilities(DepressionDetectionPipeline(model=torch_model, tokenizer=tokenizer), PROBES)
    config = HybridConfig.from_pretrained(exported["fp32"])
    for name, tolerance in (("fp32", 1e-4), ("int8", 0.05)):
        detector = DepressionDetectionPipeline(model=OnnxModel(exported[name], config), tokenizer=tokenizer)
        got = probabilities(detector, PROBES)
        assert (got - expected).abs().max() <= tolerance, (name, got, expected)
    fp32, int8 = exported["info"]
    assert fp32["quantization"] is None and int8["quantization"] == "int8" and fp32["system"] == "hybrid"
    assert fp32["graph"]["inputs"] == ["input_ids", "attention_mask"] and fp32["graph"]["min_length"] == 5
    assert (exported["int8"] / "model.onnx").stat().st_size < (exported["fp32"] / "model.onnx").stat().st_size / 2
    # int8 quantises the fused graph: the encoder's attention as ONNX Runtime's QAttention, the fp32 graph standard
    assert int8["optimization"]["by"] == "onnxscript" and int8["optimization"]["fused"]["attention"] == 2
    assert operators(exported["int8"])["QAttention"] == 2 and not operators(exported["fp32"])["Attention"]
    assert {p.name for p in exported["fp32"].iterdir()} >= {"model.onnx", "export.json", "config.json",
                                                           "tokenizer.json"}
    assert not list(exported["fp32"].glob("*.safetensors"))  # the graph replaces the weights


def operators(folder) -> Counter:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node)


def test_a_fusion_that_changes_the_logits_or_fails_is_not_kept(exported, tmp_path, monkeypatch):
    import onnx

    from depdetect import export

    graph = tmp_path / "model.onnx"
    shutil.copyfile(exported["fp32"] / "model.onnx", graph)

    def wrong(path, attention):  # the graph with 0.5 added to its logits
        model = onnx.load(str(path))
        last = next(node for node in model.graph.node if "logits" in node.output)
        last.output[list(last.output).index("logits")] = "logits_before"
        model.graph.initializer.append(onnx.numpy_helper.from_array(np.array(0.5, dtype=np.float32), "shift"))
        model.graph.node.append(onnx.helper.make_node("Add", ["logits_before", "shift"], ["logits"]))
        return model, {"attention": 1}

    monkeypatch.setattr(export, "_fuse_onnxscript", wrong)
    done = export.fuse_for_ort(graph, exported["fp32"], exported["info"][0]["graph"])
    assert done["by"] == "onnxruntime" and "onnxscript: changed the logits by 0.5" in done.get("fusion_error", "")

    def broken(path, attention):
        raise RuntimeError("no pattern")

    monkeypatch.setattr(export, "_fuse_onnxruntime", broken)
    shutil.copyfile(exported["fp32"] / "model.onnx", graph)
    done = export.fuse_for_ort(graph, exported["fp32"], exported["info"][0]["graph"])
    assert done["fused"] is None and "onnxruntime: RuntimeError: no pattern" in done["fusion_error"]
    assert graph.read_bytes() == (exported["fp32"] / "model.onnx").read_bytes()  # the plain graph, untouched


def test_predict_and_evaluate_read_an_export(models, exported, tmp_path, capsys):
    source = write_jsonl(tmp_path / "texts.jsonl", [{"id": i, "text": t, "label": i % 2}
                                                    for i, t in enumerate(PROBES)])
    main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "torch.jsonl"), "--no_explain"])
    main(["predict", str(exported["fp32"]), source, "-o", str(tmp_path / "onnx.jsonl")])
    assert "predicts without explanations" in capsys.readouterr().err
    expected, got = read_jsonl(tmp_path / "torch.jsonl"), read_jsonl(tmp_path / "onnx.jsonl")
    assert [r.keys() for r in got] == [r.keys() for r in expected]  # the same rows, no tokens
    assert [r["probability"] for r in got] == pytest.approx([r["probability"] for r in expected], abs=1e-4)
    result = main(["evaluate", str(exported["int8"]), source, "--no_plots", "--baselines", "none",
                   "-o", str(tmp_path / "e.json")])
    assert result["num_records"] == len(PROBES) and "auprc" in result["metrics"]
    with pytest.raises(SystemExit):
        main(["predict", str(exported["fp32"]), source, "--explain", "nas"])
    assert "an exported graph, which gives no explanations" in capsys.readouterr().err


def test_what_cannot_be_exported_is_refused(models, exported, tmp_path, capsys):
    for folder, message in ((models["doris"], "doris system has no ONNX export"),
                            (exported["fp32"], "already an export")):
        with pytest.raises(SystemExit):
            main(["export", str(folder), "-o", str(tmp_path / "out")])
        assert message in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit):
        main(["export", str(models["hybrid"]), "-o", str(tmp_path / "full")])
    assert "not an empty folder" in capsys.readouterr().err
    assert json.loads((exported["int8"] / "export.json").read_text())["versions"]["onnxruntime"]
