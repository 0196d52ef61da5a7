"""The Hybrid as an ONNX graph (`depdetect export MODEL --format onnx`): input_ids and attention_mask in, logits out.

torch.onnx's dynamo exporter (torch.export + onnxscript) traces `ExportableHybrid`, which computes what
`HybridForSequenceClassification.forward` computes without its input checks (data-dependent branches that a graph
cannot hold; the ONNX runner checks its inputs before the session runs) and with a BiLSTM that needs no packed
sequences (depdetect.export_lstm). The result equals the packed BiLSTM's (the parity test holds the whole model to
1e-4). Texts shorter than the widest CNN kernel are padded to it by the runner (padding changes nothing: the model
masks it), so the graph has no branch on length.

Explanations are not exported (AWVTI and NAS read the encoder's attentions and gradients); the torch folder keeps
them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..export import export_in_process
from ..export_lstm import UnpackedBiLSTM
from .modeling_hybrid import HybridForSequenceClassification


class ExportableHybrid(nn.Module):
    """A trained Hybrid's logits from (input_ids, attention_mask), in operations an ONNX graph holds."""

    def __init__(self, model: HybridForSequenceClassification):
        super().__init__()
        self.model = model.eval()
        lstm = getattr(model, "lstm", None)
        self.lstm = None if lstm is None else UnpackedBiLSTM(lstm)

    def bilstm(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`HybridForSequenceClassification._bilstm` without packing: (B, 2Hl), the last layer's forward state
        at each text's last token and its backward state at the first."""
        x = self.lstm(states, lengths)  # (B, T, 2Hl)
        size = self.lstm.hidden_size
        at_last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, size)  # (B, 1, Hl)
        summary = torch.cat([x[..., :size].gather(1, at_last).squeeze(1), x[:, 0, size:]], dim=-1)
        return self.model.lstm_dropout(summary)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.bool()
        lengths = mask.sum(dim=1)
        states = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.model.head(states, mask, lengths, bilstm=self.bilstm if self.lstm is not None else None)


def min_length(config) -> int:
    """The fewest tokens a batch is padded to before the graph runs (the widest CNN kernel, at least 2)."""
    return max([2, *config.cnn_kernel_sizes]) if config.use_cnn else 2


def export_graph(folder: str | Path, path: Path) -> dict:
    """The Hybrid of `folder` written as an ONNX graph to `path` (in a fresh process, checked to be dynamic in batch
    and length: `depdetect.export.export_in_process`); returns what export.json records of it."""
    return export_in_process(__name__, folder, path)


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
            "max_length": model.config.max_length, "vocab_size": model.config.encoder_config.vocab_size,
            "attention": [model.config.encoder_config.num_attention_heads, model.config.encoder_config.hidden_size],
            "explanations": []}


if __name__ == "__main__":  # export_graph's fresh process: python -m depdetect.hybrid.export FOLDER PATH
    import json
    import sys

    print(json.dumps(_export_here(sys.argv[1], Path(sys.argv[2]))))
