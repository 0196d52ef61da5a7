"""The Hybrid as an ONNX graph (`depdetect export MODEL --format onnx`): input_ids and attention_mask in, logits out.

torch.onnx's dynamo exporter (torch.export + onnxscript) traces `ExportableHybrid`, which computes what
`HybridForSequenceClassification.forward` computes without its input checks (data-dependent branches that a graph
cannot hold; the ONNX runner checks its inputs before the session runs) and with a BiLSTM that needs no packed
sequences: each direction of each layer is a one-directional LSTM with the trained weights, the backward one run
over every text reversed within its own length, so padding never reaches a real token's state. The result equals
the packed BiLSTM's (the parity test holds the whole model to 1e-4). Texts shorter than the widest CNN kernel are
padded to it by the runner (padding changes nothing: the model masks it), so the graph has no branch on length.

Explanations are not exported (AWVTI and NAS read the encoder's attentions and gradients); the torch folder keeps
them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .modeling_hybrid import HybridForSequenceClassification


class ExportableHybrid(nn.Module):
    """A trained Hybrid's logits from (input_ids, attention_mask), in operations an ONNX graph holds."""

    def __init__(self, model: HybridForSequenceClassification):
        super().__init__()
        self.model = model.eval()
        self.layers = nn.ModuleList()
        lstm = getattr(model, "lstm", None)
        if lstm is not None:
            if lstm.proj_size or not lstm.batch_first or not lstm.bidirectional:
                raise ValueError("The Hybrid's BiLSTM has a layout the exporter does not know (a projection, or not "
                                 "batch-first and bidirectional).")
            for layer in range(lstm.num_layers):
                pair = nn.ModuleList(self._direction(lstm, layer, suffix) for suffix in ("", "_reverse"))
                self.layers.append(pair)

    @staticmethod
    def _direction(lstm: nn.LSTM, layer: int, suffix: str) -> nn.LSTM:
        size = lstm.input_size if layer == 0 else 2 * lstm.hidden_size
        one = nn.LSTM(size, lstm.hidden_size, batch_first=True, bias=lstm.bias)
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if lstm.bias else [])
        one.load_state_dict({f"{name}_l0": getattr(lstm, f"{name}_l{layer}{suffix}").detach().clone()
                             for name in names})
        return one

    def bilstm(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`HybridForSequenceClassification._bilstm` without packing: (B, 2Hl), the last layer's forward state
        at each text's last token and its backward state at the first."""
        positions = torch.arange(states.shape[1], device=states.device).unsqueeze(0)  # (1, T)
        last = (lengths - 1).unsqueeze(1)  # (B, 1)
        reverse = torch.where(positions < lengths.unsqueeze(1), last - positions, positions)  # (B, T)
        x = states
        for forward, backward in self.layers:
            ahead, _ = forward(x)
            flipped, _ = backward(x.gather(1, reverse.unsqueeze(-1).expand(-1, -1, x.shape[-1])))
            x = torch.cat([ahead, flipped.gather(1, reverse.unsqueeze(-1).expand(-1, -1, flipped.shape[-1]))], -1)
        at_last = last.unsqueeze(-1).expand(-1, 1, ahead.shape[-1])  # (B, 1, Hl)
        summary = torch.cat([ahead.gather(1, at_last).squeeze(1), flipped.gather(1, at_last).squeeze(1)], dim=-1)
        return self.model.lstm_dropout(summary)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.bool()
        lengths = mask.sum(dim=1)
        states = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.model.head(states, mask, lengths, bilstm=self.bilstm if len(self.layers) else None)


def min_length(config) -> int:
    """The fewest tokens a batch is padded to before the graph runs (the widest CNN kernel, at least 2)."""
    return max([2, *config.cnn_kernel_sizes]) if config.use_cnn else 2


def export_graph(folder: str | Path, path: Path) -> dict:
    """The Hybrid of `folder` written as an ONNX graph to `path`; returns what export.json records of it.

    The export runs in a fresh Python process: a second export in one process specialises the sequence length to
    the example's (torch 2.13's exporter keeps state between exports), and the graph would then refuse every other
    length. The written graph's inputs are checked to be dynamic in batch and sequence."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", __name__, str(folder), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"The ONNX export failed:\n{done.stderr[-3000:]}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    check_dynamic(path)
    return info


def check_dynamic(path: Path) -> None:
    """Refuse a graph whose inputs have a fixed batch size or length."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    for tensor in graph.input:
        fixed = [d.dim_value for d in tensor.type.tensor_type.shape.dim if not d.dim_param]
        if fixed:
            raise RuntimeError(f"The exported graph's input {tensor.name} has a fixed size {fixed}; it would refuse "
                               "other batch sizes or lengths. Please report this with your torch version.")


def _export_here(folder: str | Path, path: Path) -> dict:
    import warnings

    model = HybridForSequenceClassification.from_pretrained(folder).eval()
    wrapped = ExportableHybrid(model).eval()
    shortest = min_length(model.config)
    ids = torch.full((2, shortest + 3), model.config.encoder_config.pad_token_id or 0, dtype=torch.long)
    ids[:, 0] = 101 % model.config.encoder_config.vocab_size
    mask = torch.ones_like(ids)
    mask[1, shortest:] = 0
    batch = torch.export.Dim("batch", min=1, max=65536)
    sequence = torch.export.Dim("sequence", min=shortest, max=model.config.max_length)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(wrapped, (ids, mask), dynamo=True, input_names=["input_ids", "attention_mask"],
                                    output_names=["logits"], dynamic_shapes=({0: batch, 1: sequence},
                                                                             {0: batch, 1: sequence}),
                                    verbose=False)
    program.save(str(path))
    return {"inputs": ["input_ids", "attention_mask"], "outputs": ["logits"], "min_length": shortest,
            "max_length": model.config.max_length}


if __name__ == "__main__":  # export_graph's fresh process: python -m depdetect.hybrid.export FOLDER PATH
    import json
    import sys

    print(json.dumps(_export_here(sys.argv[1], Path(sys.argv[2]))))
