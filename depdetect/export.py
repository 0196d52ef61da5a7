"""`depdetect export MODEL --format onnx [--quantize int8] -o DIR`: a trained torch model as an ONNX graph that
ONNX Runtime runs, in a folder that `depdetect predict` (and the system's pipeline, through `OnnxModel`) reads.

Each system's spec names its exporter (`SystemSpec.exporter`, "module:function" `(folder, path) -> dict`), which
writes the graph and says its inputs and outputs (any further graphs it wrote beside it, `extra_graphs`, and the
explanation methods the export still gives, `explanations`). The folder gets `model.onnx` (the graph int8
quantises; the dual encoder's turn encoder, its `head.onnx` beside it), the source's config and tokenizer files
(label names, calibration, threshold: what turns logits into the pipeline's answer), its model card, and
`export.json` (format, quantisation, graph inputs/outputs, what was fused, the source, versions). int8 is ONNX
Runtime's dynamic quantisation (the weights of MatMul/Gemm and the fused attention to int8, activations quantised
per batch at run time; the BiLSTM and the CNN stay fp32) of the graph after its encoder's operators have been fused
into ONNX Runtime's (attention, skip + LayerNorm, bias + GELU; kept only where the logits stay equal): no
calibration data needed; the speed and the change in the probabilities are measured in BENCHMARKS.md. The fp32
graph keeps the exporter's standard ONNX operators (any ONNX runtime).

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
            optimized = quantize_int8(work / "fp32.onnx", work / GRAPH_FILE, Path(folder), graph)
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
    flag = "" if graph.get("explanations") else " --no_explain"
    print(f"Exported {spec.name} to {out}/{GRAPH_FILE} ({size:.0f} MB{', int8' if quantize else ''}). Predict with "
          f"`depdetect predict {out} INPUT{flag}`.", file=sys.stderr)
    return info


def quantize_int8(source: Path, target: Path, folder: Path, graph: dict) -> dict:
    """ONNX Runtime's dynamic int8 quantisation of `source` into `target` (weights int8, per channel), after the
    encoder's operators have been fused (`fuse_for_ort`): on the quick-start Hybrid, fusing LayerNorm and GELU made
    the int8 graph 1.3x faster than quantising the plain one, and the attention a further 0-10% (BENCHMARKS.md).
    The graph's intermediate shape annotations are dropped after the fusion (which needs them) and before
    quantising: the quantiser infers shapes again and stops where the two disagree on a dynamic dimension. Returns
    what was done (`fuse_for_ort`'s record)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    done = fuse_for_ort(source, folder, graph)  # with the exporter's shapes: the attention fusion reads them
    model = onnx.load(str(source))
    del model.graph.value_info[:]
    onnx.save(model, str(source))
    with _quiet():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return done


def fuse_for_ort(path: Path, folder: Path, graph: dict) -> dict:
    """The graph at `path` rewritten in place with ONNX Runtime's fused transformer operators, when they keep its
    logits (to 1e-4, on a padded probe batch). Two fusers are tried in turn: onnxscript's `optimize_for_ort`, which
    recognises the dynamo exporter's attention (so int8 gets QAttention, `_attention_for_int8`), then ONNX
    Runtime's own optimiser, which fuses LayerNorm and bias + GELU but not that attention. A fuser that fails or
    changes the logits is skipped (said in "fusion_error"), and with neither the plain graph is kept. Returns
    {"fused": {operator: count}, "by": fuser} or {"fused": None, "fusion_error": ...}."""
    import onnx

    probe = probe_batch(folder, graph)
    reference = _logits(onnx.load(str(path)), probe)
    errors = []
    for name, fuser in (("onnxscript", _fuse_onnxscript), ("onnxruntime", _fuse_onnxruntime)):
        try:
            with _quiet():
                fused, counts = fuser(path, tuple(graph.get("attention") or attention_shape(folder)))
                change = float(abs(_logits(fused, probe) - reference).max())
        except Exception as err:  # noqa: BLE001 (an optional optimisation: any failure keeps the plain graph)
            errors.append(f"{name}: {type(err).__name__}: {err}"[:300])
            continue
        if change > 1e-4:
            errors.append(f"{name}: changed the logits by {change:.2g}")
            continue
        onnx.save(fused, str(path))
        skipped = {"fusion_error": "; ".join(errors)} if errors else {}
        return {"fused": {k: v for k, v in counts.items() if v}, "by": name, **skipped}
    return {"fused": None, "fusion_error": "; ".join(errors)}


def _fuse_onnxscript(path: Path, attention: tuple[int, int]):
    import onnx
    import onnx_ir as ir
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    model, counts = optimize_for_ort(ir.load(str(path)))
    proto = ir.to_proto(model)
    _attention_for_int8(proto)
    onnx.checker.check_model(proto, full_check=False)
    return proto, counts


def _fuse_onnxruntime(path: Path, attention: tuple[int, int]):
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(str(path), model_type="bert", num_heads=attention[0], hidden_size=attention[1])
    return optimized.model, optimized.get_fused_operator_statistics()


def _attention_for_int8(model) -> None:
    """Fused `Attention` nodes in the form ONNX Runtime's quantiser turns into QAttention: their packed q/k/v
    weights and biases (a Concat of three initializers) folded into one initializer each, equal q/k/v sizes left
    unstated, and the padding mask given as `mask_index` (the graph's attention_mask) instead of an additive bias
    (which QAttention has no input for). The caller checks the logits did not change."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    masks = [i.name for i in graph.input if i.name == "attention_mask"]
    nodes = list(graph.node)
    for node in [n for n in nodes if n.op_type == "Attention"]:
        for index in (1, 2):  # weights, bias
            concat = producers.get(node.input[index])
            if concat is not None and concat.op_type == "Concat" and all(i in initializers for i in concat.input):
                axis = next(a.i for a in concat.attribute if a.name == "axis")
                value = np.concatenate([numpy_helper.to_array(initializers[i]) for i in concat.input], axis=axis)
                graph.initializer.append(numpy_helper.from_array(value, concat.output[0]))
                initializers[concat.output[0]] = graph.initializer[-1]
                nodes.remove(concat)
        sizes = [a for a in node.attribute if a.name == "qkv_hidden_sizes"]
        if sizes and len(set(sizes[0].ints)) == 1:
            node.attribute.remove(sizes[0])
        inputs = list(node.input) + [""] * (6 - len(node.input))
        if masks and inputs[5] and not inputs[3]:
            inputs[3], inputs[5] = "attention_mask_int32", ""
        while inputs and not inputs[-1]:
            inputs.pop()
        del node.input[:]
        node.input.extend(inputs)
    if any("attention_mask_int32" in n.input for n in nodes):
        nodes.insert(0, helper.make_node("Cast", ["attention_mask"], ["attention_mask_int32"], to=TensorProto.INT32))
    needed, alive = {o.name for o in graph.output}, []
    for node in reversed(nodes):  # the nodes still needed for the outputs, in order
        if any(o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
    del graph.node[:]
    graph.node.extend(reversed(alive))
    kept = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def probe_batch(folder: Path, graph: dict) -> dict:
    """Three token sequences of different lengths, padded (the case a fusion of the attention mask could get
    wrong), as the graph's inputs (the runner feeds those the graph has)."""
    import numpy as np

    vocab = int(graph.get("vocab_size") or (read_json(Path(folder) / "config.json").get("encoder_config") or {}).get(
        "vocab_size") or 1000)
    length = max(16, int(graph.get("min_length", 2)) + 8)
    ids = np.random.default_rng(0).integers(5, max(6, vocab), size=(3, length), dtype=np.int64)
    mask = np.zeros((3, length), dtype=np.int64)
    for row, real in enumerate((length, length - 5, max(int(graph.get("min_length", 2)), 3))):
        mask[row, :real] = 1
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _logits(model, feeds: dict):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0]


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


def export_in_process(module: str, folder: str | Path, path: Path, *args: str) -> dict:
    """Run `python -m module FOLDER PATH [ARGS]` (an exporter's own entry point, which prints its graph's record as
    the last line of JSON) and return that record, the written graph checked to be dynamic in its inputs.

    Each export runs in a fresh Python process: a second export in one process specialises the sequence length to
    the example's (torch 2.13's exporter keeps state between exports), and the graph would then refuse every other
    length."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-m", module, str(folder), str(path), *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"The ONNX export failed:\n{done.stderr[-3000:]}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    check_dynamic(path)
    return info


def check_dynamic(path: Path) -> None:
    """Refuse a graph whose inputs have a fixed batch size or length (their first two dimensions; a feature size
    after them is fixed by the model)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    for tensor in graph.input:
        fixed = [d.dim_value for d in tensor.type.tensor_type.shape.dim[:2] if not d.dim_param]
        if fixed:
            raise RuntimeError(f"The exported graph's input {tensor.name} has a fixed size {fixed}; it would refuse "
                               "other batch sizes or lengths. Please report this with your torch version.")


def export_files(folder: str | Path) -> tuple[str, ...]:
    """The files an export folder needs: config.json, export.json, model.onnx and the graphs its export.json lists
    beside it (`graph.extra_graphs`, e.g. the dual encoder's head.onnx)."""
    graph = read_json(Path(folder) / EXPORT_FILE).get("graph") or {}
    return ("config.json", EXPORT_FILE, GRAPH_FILE, *graph.get("extra_graphs", ()))


def exported_explanations(folder: str | Path) -> tuple[str, ...]:
    """The explanation methods an export still gives (the graph's outputs carry them), () for none."""
    return tuple((read_json(Path(folder) / EXPORT_FILE).get("graph") or {}).get("explanations") or ())


class OnnxRunner:
    """What transformers' Pipeline reads of a model (config, device, dtype, to, eval), for an exported folder whose
    graphs ONNX Runtime runs on the CPU; subclasses make the model's call."""

    def __init__(self, folder: str | Path, config: Any, threads: int | None = None):
        import torch

        self.folder = Path(folder)
        self.config = config
        self.info = read_json(self.folder / EXPORT_FILE)
        # the knob torch's own threads follow (OMP_NUM_THREADS, torch.set_num_threads): one thread per process under
        # torchrun, rather than ONNX Runtime's default of every core in each process
        self.threads = int(threads or torch.get_num_threads())
        self.session = self.open(GRAPH_FILE)
        self.exported = True

    def open(self, name: str):
        """An ONNX Runtime session of the folder's graph `name` (CPU, `threads` threads)."""
        import onnxruntime as ort

        if not (self.folder / name).is_file():
            raise FileNotFoundError(f"{self.folder} has no {name}: the export is incomplete; export the trained "
                                    "folder again (`depdetect export`).")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(self.folder / name), options, providers=["CPUExecutionProvider"])

    def feeds(self, session, **arrays) -> dict:
        """The int64 numpy arrays of the inputs `session` has (torch tensors in)."""
        names = {i.name for i in session.get_inputs()}
        return {k: v.cpu().numpy().astype("int64") for k, v in arrays.items() if k in names and v is not None}

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


class OnnxModel(OnnxRunner):
    """An exported Hybrid graph behind the call a transformers pipeline makes of its model: `model(**inputs).logits`
    (torch tensors in, torch tensors out), with the source's `config`. A sequence without a real token is refused
    as the torch model refuses it, and a batch shorter than the graph's shortest length is padded to it."""

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
        logits = self.session.run(["logits"], self.feeds(self.session, input_ids=input_ids,
                                                         attention_mask=attention_mask))[0]
        return SequenceClassifierOutput(logits=torch.from_numpy(logits))
