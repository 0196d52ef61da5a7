"""The dual encoder as two ONNX graphs (`depdetect export MODEL --format onnx`) and the runner that puts them
together as the model does.

- `model.onnx`, the turn encoder: (M, T) turns' input_ids, attention_mask, token_type_ids -> (M, projection) fused
  turn encodings (`_encode_turns`: the prefix encoder with its trained P-tuning prefixes, which the export holds as
  constants, and the sentence encoder, each pooled and projected, averaged). This is the graph int8 quantises: it
  is nearly all of the time.
- `head.onnx`: (B, N, projection) visible turns and their mask (B, N) -> logits and the attention pooling's weights
  (the BiLSTM without packed sequences, depdetect.export_lstm; the additive attention; the head). Kept fp32: a few
  kilobytes of weights, a small share of the time.

`OnnxDualEncoder` does in Python what the model's forward does between the two: the visible turns (real and not
hidden by `instance_mask`) moved to the front, the turns encoded in length-sorted chunks, the attention put back in
interview order; it borrows those steps from `DualEncoderForDepressionScoring` itself, so they cannot drift apart.
The attention explanation survives export (the head graph returns it) and so does occlusion (turns hidden with
`instance_mask`, as in torch); the parity test holds severities and attentions to torch's within 1e-4 (fp32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..export import OnnxRunner, export_in_process
from ..export_lstm import UnpackedBiLSTM
from .modeling_dual_encoder import DualEncoderForDepressionScoring, DualEncoderOutput

HEAD_FILE = "head.onnx"
#: the fewest tokens (turn encoder) and turns (head) a graph is given; the runner pads shorter inputs (masked)
MIN_TOKENS, MIN_TURNS = 2, 2


class ExportableTurns(nn.Module):
    """(M, T) turns -> (M, projection) turn encodings, as `_encode_turns` computes them (eval mode)."""

    def __init__(self, model: DualEncoderForDepressionScoring):
        super().__init__()
        self.model = model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        return self.model._encode_turns(input_ids, attention_mask, token_type_ids)


class ExportableHead(nn.Module):
    """(B, N, projection) turn encodings and the visible-turn mask (B, N), visible turns first -> (logits (B, L),
    attention weights (B, N)): the BiLSTM, attention pooling and head of the model's forward."""

    def __init__(self, model: DualEncoderForDepressionScoring):
        super().__init__()
        self.model = model.eval()
        self.lstm = UnpackedBiLSTM(model.lstm)

    def forward(self, turns: torch.Tensor, visible: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = visible.bool()
        states = self.lstm(turns, mask.sum(1))  # (B, N, 2h), meaningful at the visible turns
        pooled, weights = self.model.attention(states, mask)  # padding turns get zero weight
        return self.model.head(pooled), weights


def export_graph(folder: str | Path, path: Path) -> dict:
    """The dual encoder of `folder` as the turn-encoder graph at `path` and the head graph beside it (each exported in
    a fresh process, checked dynamic); returns what export.json records of them."""
    info = export_in_process(__name__, folder, path, "turns")
    head = export_in_process(__name__, folder, Path(path).parent / HEAD_FILE, "head")
    return {**info, "extra_graphs": [HEAD_FILE], "head": head}


def _export_here(folder: str | Path, path: Path, part: str) -> dict:
    import warnings

    model = DualEncoderForDepressionScoring.from_pretrained(folder).eval()
    config = model.config
    encoder = config.prefix_encoder_config
    batch = torch.export.Dim("batch", min=1, max=65536)
    if part == "turns":
        ids = torch.full((3, MIN_TOKENS + 5), encoder.pad_token_id or 0, dtype=torch.long)
        ids[:, 0] = 101 % encoder.vocab_size
        mask = torch.ones_like(ids)
        mask[1, MIN_TOKENS:] = 0
        args, names, outputs = (ids, mask, torch.zeros_like(ids)), ["input_ids", "attention_mask",
                                                                   "token_type_ids"], ["turns"]
        length = torch.export.Dim("sequence", min=MIN_TOKENS, max=config.max_turn_length)
        wrapped = ExportableTurns(model)
    else:
        visible = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
        args, names, outputs = (torch.randn(2, 4, config.projection_size), visible), ["turns", "visible"], [
            "logits", "attentions"]
        length = torch.export.Dim("turns", min=MIN_TURNS, max=65536)
        wrapped = ExportableHead(model)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(wrapped.eval(), args, dynamo=True, input_names=names, output_names=outputs,
                                    dynamic_shapes=tuple({0: batch, 1: length} for _ in args), verbose=False)
    program.save(str(path))
    if part == "head":
        _turns_dynamic(path)
        return {"inputs": names, "outputs": outputs, "min_turns": MIN_TURNS}
    return {"inputs": names, "outputs": outputs, "min_length": MIN_TOKENS, "max_length": config.max_turn_length,
            "vocab_size": encoder.vocab_size, "attention": [encoder.num_attention_heads, encoder.hidden_size],
            "explanations": ["attention", "occlusion"]}


def _turns_dynamic(path: Path) -> None:
    """The head graph's `attentions` output declared (batch, turns), and its intermediate shapes dropped: the
    exporter writes the example's number of turns there after the LSTM (the graph computes any number; ONNX Runtime
    infers the shapes again, and would warn at every other number)."""
    import onnx

    model = onnx.load(str(path))
    del model.graph.value_info[:]
    output = next(o for o in model.graph.output if o.name == "attentions")
    for dim, name in zip(output.type.tensor_type.shape.dim, ("batch", "turns")):
        dim.dim_param = name
    onnx.save(model, str(path))


class OnnxDualEncoder(OnnxRunner):
    """An exported dual encoder behind the call the depression-scoring pipeline makes of its model:
    `model(input_ids, attention_mask, token_type_ids, turn_mask, instance_mask)` -> logits, scores and attentions
    (torch tensors in and out), with the source's `config`. Inputs are checked as the model checks them."""

    # the model's own steps around the graphs (see the module docstring)
    _visible_turns = staticmethod(DualEncoderForDepressionScoring._visible_turns)
    _encode_visible_turns = DualEncoderForDepressionScoring._encode_visible_turns
    _encode_chunks = DualEncoderForDepressionScoring._encode_chunks
    scores = DualEncoderForDepressionScoring.scores

    def __init__(self, folder: str | Path, config: Any, threads: int | None = None):
        super().__init__(folder, config, threads)
        self.num_labels = config.num_labels
        self.head = self.open(HEAD_FILE)

    def _encode_turns(self, input_ids, attention_mask, token_type_ids, sentence_encoding=None) -> torch.Tensor:
        if input_ids.shape[1] < MIN_TOKENS:  # padding the graph needs; the model masks it
            pad = (0, MIN_TOKENS - input_ids.shape[1])
            input_ids = nn.functional.pad(input_ids, pad, value=self.config.prefix_encoder_config.pad_token_id or 0)
            attention_mask = nn.functional.pad(attention_mask, pad, value=0)
            token_type_ids = None if token_type_ids is None else nn.functional.pad(token_type_ids, pad, value=0)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        feeds = self.feeds(self.session, input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids)
        return torch.from_numpy(self.session.run(["turns"], feeds)[0])

    def __call__(self, input_ids=None, attention_mask=None, turn_mask=None, token_type_ids=None, instance_mask=None,
                 **_) -> DualEncoderOutput:
        if input_ids is None or input_ids.dim() != 3:
            raise ValueError("`input_ids` must be (batch, turns, tokens); got "
                             f"{None if input_ids is None else tuple(input_ids.shape)}. Use the depression-scoring "
                             "pipeline to build inputs.")
        if attention_mask is None:
            attention_mask = (input_ids != (self.config.prefix_encoder_config.pad_token_id or 0)).long()
        with torch.no_grad():
            order, visible, _ = self._visible_turns(attention_mask, turn_mask, instance_mask)  # (B, N')
            turns = self._encode_visible_turns(order, visible, input_ids, attention_mask, token_type_ids, None)
        width = order.shape[1]
        if width < MIN_TURNS:  # padding turns the graph needs: never visible, so they change nothing
            turns = nn.functional.pad(turns, (0, 0, 0, MIN_TURNS - width))
            visible = nn.functional.pad(visible, (0, MIN_TURNS - width), value=False)
        logits, weights = self.head.run(["logits", "attentions"], {
            "turns": turns.numpy().astype("float32"), "visible": visible.numpy().astype("int64")})
        logits, weights = torch.from_numpy(logits), torch.from_numpy(weights)[:, :width]
        attentions = weights.new_zeros(input_ids.shape[:2]).scatter(1, order, weights)  # interview order (B, N)
        return DualEncoderOutput(logits=logits, scores=self.scores(logits), attentions=attentions)


if __name__ == "__main__":  # export_in_process: python -m depdetect.dual_encoder.export FOLDER PATH PART
    import json
    import sys

    print(json.dumps(_export_here(sys.argv[1], Path(sys.argv[2]), sys.argv[3])))
