"""A trained bidirectional `nn.LSTM` in operations an ONNX graph holds without packed sequences (the exporters of
`depdetect export` use it; depdetect.hybrid.export, depdetect.dual_encoder.export).

Each direction of each layer becomes a one-directional LSTM with the trained weights; the backward one runs over
every sequence reversed within its own length, so padding never reaches a real position's state. At the real
positions the result equals the packed BiLSTM's (the exporters' parity tests hold whole models to 1e-4).
"""

from __future__ import annotations

import torch
from torch import nn


class UnpackedBiLSTM(nn.Module):
    """`forward(x (B, T, D), lengths (B,)) -> (B, T, 2H)`: the last layer's forward and backward states, equal to a
    packed bidirectional LSTM's at positions below each length (what lies beyond is not meaningful)."""

    def __init__(self, lstm: nn.LSTM):
        super().__init__()
        if lstm.proj_size or not lstm.batch_first or not lstm.bidirectional:
            raise ValueError("The BiLSTM has a layout the exporter does not know (a projection, or not batch-first "
                             "and bidirectional).")
        self.hidden_size = lstm.hidden_size
        self.layers = nn.ModuleList(
            nn.ModuleList(self._direction(lstm, layer, suffix) for suffix in ("", "_reverse"))
            for layer in range(lstm.num_layers)
        )

    @staticmethod
    def _direction(lstm: nn.LSTM, layer: int, suffix: str) -> nn.LSTM:
        size = lstm.input_size if layer == 0 else 2 * lstm.hidden_size
        one = nn.LSTM(size, lstm.hidden_size, batch_first=True, bias=lstm.bias)
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if lstm.bias else [])
        one.load_state_dict({f"{name}_l0": getattr(lstm, f"{name}_l{layer}{suffix}").detach().clone()
                             for name in names})
        return one

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
        last = (lengths - 1).unsqueeze(1)  # (B, 1)
        reverse = torch.where(positions < lengths.unsqueeze(1), last - positions, positions)  # (B, T)
        for forward, backward in self.layers:
            ahead, _ = forward(x)
            flipped, _ = backward(x.gather(1, reverse.unsqueeze(-1).expand(-1, -1, x.shape[-1])))
            x = torch.cat([ahead, flipped.gather(1, reverse.unsqueeze(-1).expand(-1, -1, flipped.shape[-1]))], -1)
        return x
