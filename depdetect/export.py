"""`depdetect export MODEL --format onnx [--quantize int8] -o DIR`: a trained torch model as an ONNX graph that
ONNX Runtime runs, in a folder that `depdetect predict` (and the system's pipeline, through `OnnxModel`) reads.

Each system's spec names its exporter (`SystemSpec.exporter`, "module:function" `(folder, path) -> dict`), which
writes the graph and says its inputs and outputs. The folder gets `model.onnx`, the source's config and tokenizer
files (label names, calibration, threshold: what turns logits into the pipeline's answer), its model card, and
`export.json` (format, quantisation, graph inputs/outputs, the source, versions). int8 is ONNX Runtime's dynamic
quantisation (weights of MatMul/Gemm/LSTM to int8, activations quantised per batch at run time) of the graph after
ONNX Runtime's transformer optimiser has fused its encoder's operators: no calibration data needed; the speed and
the change in the probabilities are measured in BENCHMARKS.md.

Needs `pip install 'depdetect[onnx]'` (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .extras import require
from .systems import folder_spec, load_object, resolve_model
from .utils import _umask, read_json, write_json

EXPORT_FILE = "export.json"
GRAPH_FILE = "model.onnx"
#: files of the source folder an export carries (those present): what the runner and the card need
CARRIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
           "README.md", "metrics.json")
QUANTIZATIONS = ("int8",)


def is_export(folder: str | Path) -> bool:
    """Whether a folder holds an exported graph (its export.json) rather than torch weights."""
    return (Path(folder) / EXPORT_FILE).is_file()


def export_model(model: str, output_dir: str, fmt: str = "onnx", quantize: str | None = None,
                 revision: str | None = None) -> dict:
    """Export a trained model folder (or Hub repo) to `output_dir` (new or empty); returns export.json's content."""
    if fmt != "onnx":
        raise ValueError(f"--format must be onnx, got {fmt!r}.")
    if quantize not in (None, *QUANTIZATIONS):
        raise ValueError(f"--quantize must be one of {', '.join(QUANTIZATIONS)} (or left out), got {quantize!r}.")
    folder = resolve_model(model, revision)
    spec = folder_spec(folder)
    if is_export(folder):
        raise ValueError(f"{folder} is already an export; export the trained folder it came from.")
    if not spec.exporter:
        raise ValueError(f"The {spec.name} system has no ONNX export (it is not one torch graph); serve its folder "
                         "with `depdetect predict` or its handler.py.")
    require("onnx", "depdetect export")
    out = Path(output_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"-o {out} exists and is not an empty folder; choose a new one.")
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent if out.parent.exists() else None))
    try:
        graph = load_object(spec.exporter)(folder, work / "fp32.onnx")
        optimized = None
        if quantize:
            optimized = quantize_int8(work / "fp32.onnx", work / GRAPH_FILE, attention_shape(folder))
        else:
            (work / "fp32.onnx").rename(work / GRAPH_FILE)
        (work / "fp32.onnx").unlink(missing_ok=True)
        for name in CARRIED:
            if (Path(folder) / name).is_file():
                shutil.copyfile(Path(folder) / name, work / name)
        info = {"format": "onnx", "quantization": quantize, "system": spec.name, "source": str(model),
                "graph": graph, "optimization": optimized, "versions": versions()}
        write_json(work / EXPORT_FILE, info)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        work.chmod(0o777 & ~_umask())  # a folder as the user's umask makes them (mkdtemp's is private)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = (out / GRAPH_FILE).stat().st_size / 2**20
    print(f"Exported {spec.name} to {out}/{GRAPH_FILE} ({size:.0f} MB{', int8' if quantize else ''}). Predict with "
          f"`depdetect predict {out} INPUT --no_explain`.", file=sys.stderr)
    return info


def quantize_int8(source: Path, target: Path, attention: tuple[int, int] = (0, 0)) -> dict:
    """ONNX Runtime's dynamic int8 quantisation of `source` into `target` (weights int8, per channel), after its
    transformer optimiser has fused what it recognises in the encoder (LayerNorm, bias + GELU; `attention` is the
    encoder's (heads, hidden size), 0 to let it guess): measured on the quick-start Hybrid, fusing before
    quantising makes the int8 graph about 1.3x faster than quantising the plain one (BENCHMARKS.md). A graph the
    optimiser cannot read is quantised as it is. The exporter's intermediate shape annotations are dropped first:
    the quantiser infers shapes again and stops where the two disagree on a dynamic dimension. Returns what was
    done ({"fused": {operator: count}} or {"fused": None, "fusion_error": ...})."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source))
    del graph.graph.value_info[:]
    onnx.save(graph, str(source))
    done: dict = {"fused": None}
    with _quiet():
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            optimized = optimize_model(str(source), model_type="bert", num_heads=attention[0],
                                       hidden_size=attention[1])
            done["fused"] = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
            optimized.save_model_to_file(str(source))
        except Exception as err:  # noqa: BLE001 (any failure of the optional fusion: quantise the plain graph)
            done["fusion_error"] = f"{type(err).__name__}: {err}"[:300]
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return done


@contextlib.contextmanager
def _quiet():
    """ONNX Runtime's optimiser and quantiser log advice meant for their own developers (on the root logger and
    stdout); a user of `depdetect export` gets depdetect's one line instead."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def attention_shape(folder: Path) -> tuple[int, int]:
    """(heads, hidden size) of the encoder a saved folder's config.json describes (0, 0 when it says none)."""
    config = read_json(Path(folder) / "config.json")
    encoder = config.get("encoder_config") or config
    return int(encoder.get("num_attention_heads") or 0), int(encoder.get("hidden_size") or 0)


def versions() -> dict:
    import importlib.metadata as metadata

    return {name: metadata.version(name) for name in ("depdetect", "torch", "transformers", "onnx", "onnxruntime")}


class OnnxModel:
    """An exported graph behind the call a transformers pipeline makes of its model: `model(**inputs).logits`
    (torch tensors in, torch tensors out), with the source's `config`. A sequence without a real token is refused
    as the torch model refuses it, and a batch shorter than the graph's shortest length is padded to it."""

    def __init__(self, folder: str | Path, config: Any, threads: int | None = None):
        import onnxruntime as ort
        import torch

        self.folder = Path(folder)
        self.config = config
        self.info = read_json(self.folder / EXPORT_FILE)
        options = ort.SessionOptions()
        # the knob torch's own threads follow (OMP_NUM_THREADS, torch.set_num_threads): one thread per process under
        # torchrun, rather than ONNX Runtime's default of every core in each process
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        self.session = ort.InferenceSession(str(self.folder / GRAPH_FILE), options,
                                            providers=["CPUExecutionProvider"])
        self.exported = True

    # what transformers' Pipeline reads of a model
    @property
    def device(self):
        import torch

        return torch.device("cpu")

    @property
    def dtype(self):
        import torch

        return torch.float32

    def to(self, *_, **__):
        return self

    def eval(self):
        return self

    def can_generate(self) -> bool:
        return False

    def __call__(self, input_ids=None, attention_mask=None, **_):
        import torch
        from transformers.modeling_outputs import SequenceClassifierOutput

        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        lengths = attention_mask.sum(dim=1)
        if bool((lengths == 0).any()):
            raise ValueError("A sequence in the batch has no real token (attention_mask is all zeros).")
        shortest = int(self.info["graph"].get("min_length", 1))
        if input_ids.shape[1] < shortest:  # padding the graph needs; the model masks it
            pad = shortest - input_ids.shape[1]
            pad_id = getattr(getattr(self.config, "encoder_config", None), "pad_token_id", 0) or 0
            input_ids = torch.nn.functional.pad(input_ids, (0, pad), value=pad_id)
            attention_mask = torch.nn.functional.pad(attention_mask, (0, pad), value=0)
        feeds = {"input_ids": input_ids.cpu().numpy().astype("int64"),
                 "attention_mask": attention_mask.cpu().numpy().astype("int64")}
        logits = self.session.run(["logits"], feeds)[0]
        return SequenceClassifierOutput(logits=torch.from_numpy(logits))

