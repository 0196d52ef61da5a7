"""Hybrid depression classifier: a pretrained transformer (PTLM) + BiLSTM + CNN, with AWVTI and NAS explanations.

Paper: "An interpretable deep learning framework for early detection of depression using hybrid
architectures", IJECE 16(2), 2026, pp. 895-904. Section 2.2 gives the architecture (eqs. 3-9), section 2.3
the explanations (eqs. 10-11).

This file travels to the Hub with saved models: it imports only torch, transformers and its siblings
`configuration_hybrid`, `pipeline_hybrid` and `handler` (the last two imported in `save_pretrained`, so that every
saved model carries its pipeline and its Inference Endpoints handler).

Reading of the garbled equations (the PDF text lost the symbols):

* eq. 10, AWVTI(x_i) = sum_{l=1..L} sum_{h=1..H} a_{l,h}(x_i): a_{l,h}(x_i) is the attention weight that token
  x_i receives in layer l, head h. The PTLM classifies from [CLS], so we take the weight from the [CLS] query
  (row 0 of each attention matrix) to x_i. AWVTI is the raw sum over all L layers and H heads.
* eq. 11, NAS(x_i) = 1/(L*H) * sum_l sum_h a_{l,h}(x_i): the same average over layers and heads. We then
  normalise it to sum to 1 over the real tokens (not special, not padding) of each text, so that scores read as
  "share of the model's attention" and compare across texts. The 1/(L*H) factor cancels in that
  normalisation; we keep the paper's form in the code for clarity.
"""

from __future__ import annotations

import json
import struct
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from transformers import AutoModel, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import ModelOutput

from .configuration_hybrid import HybridConfig, path_tail


def _cls_attention(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack the attention each token receives from the first ([CLS]) query: (L, B, H, T)."""
    if attentions is None or len(attentions) == 0 or any(a is None for a in attentions):
        raise ValueError(
            "No attention weights were returned. Explanations need the encoder to run with "
            "attn_implementation='eager' (sdpa/flash attention return none); use `model.explain(...)` or "
            "`with model.eager_attention(): ...`."
        )
    return torch.stack([a[:, :, 0, :] for a in attentions], dim=0).float()  # (L, B, H, T)


def _real_token_mask(attention_mask: torch.Tensor, special_tokens_mask: torch.Tensor | None) -> torch.Tensor:
    mask = attention_mask.bool()
    if special_tokens_mask is not None:
        mask = mask & ~special_tokens_mask.bool()
    return mask


def awvti(
    attentions: Sequence[torch.Tensor],
    attention_mask: torch.Tensor,
    special_tokens_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Attention weight visualisation by token importance (eq. 10).

    Args:
        attentions: one tensor per layer, each (B, H, T, T), as returned with `output_attentions=True`.
        attention_mask: (B, T), 1 for real tokens, 0 for padding.
        special_tokens_mask: (B, T), optional, 1 for special tokens ([CLS], [SEP]).

    Returns:
        (B, T): for each token, the attention it receives from the [CLS] query summed over all layers and heads;
        0 at padding (and at special tokens when `special_tokens_mask` is given).
    """
    scores = _cls_attention(attentions).sum(dim=(0, 2))  # (B, T)
    return scores * _real_token_mask(attention_mask, special_tokens_mask).to(scores.dtype)


def nas(
    attentions: Sequence[torch.Tensor],
    attention_mask: torch.Tensor,
    special_tokens_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normalised attention score (eq. 11).

    The [CLS] attention averaged over layers and heads, normalised to sum to 1 over the real tokens of each
    text (not padding, not special tokens when `special_tokens_mask` is given). Returns (B, T), 0 elsewhere.
    """
    cls_attention = _cls_attention(attentions)  # (L, B, H, T)
    num_layers, _, num_heads, _ = cls_attention.shape
    mean = cls_attention.sum(dim=(0, 2)) / (num_layers * num_heads)  # (B, T)
    mean = mean * _real_token_mask(attention_mask, special_tokens_mask).to(mean.dtype)
    return mean / mean.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(mean.dtype).tiny)


# Copied from depdetect.folders.safetensors_problem
def safetensors_problem(path: Any) -> str | None:
    """Why a file is not a whole safetensors file (cut short, an absurd header length, a header that is not a JSON
    table, tensors outside the data or not covering it, as safetensors requires); None when it is one."""
    import os

    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than a safetensors header"
        length = struct.unpack("<Q", head)[0]
        if length > min(size - 8, 100_000_000):
            return f"its header claims {length} bytes but the file holds {size}"
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return "its header is not JSON"
    if not isinstance(header, dict):
        return "its header is not a table"
    data_size, end = size - 8 - length, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            return f"tensor {name!r} lies outside the file"
        end = max(end, offsets[1])
    if end != data_size:
        return f"its tensors need {end} bytes of data, the file holds {data_size}"
    return None


# Copied from depdetect.folders.check_safetensors_header
def check_safetensors_header(path: Any) -> None:
    """Refuse a damaged safetensors file with a message naming it, before a library reads it."""
    problem = safetensors_problem(path)
    if problem:
        raise ValueError(f"{path} is damaged ({problem}): the weights were cut short or overwritten; copy the "
                         "folder again from where it came (or train it again).")


# Copied from depdetect.folders.check_local_weights
def check_local_weights(name_or_path: Any) -> None:
    """Before `from_pretrained` reads a local folder: refuse a path that does not exist (rather than have it taken
    for a Hub id) and any damaged `*.safetensors` file in it, naming the file."""
    import os

    if not isinstance(name_or_path, (str, os.PathLike)):
        return
    text = os.fspath(name_or_path)
    if os.path.isdir(text):
        for name in sorted(os.listdir(text)):
            if name.endswith(".safetensors"):
                check_safetensors_header(os.path.join(text, name))
    elif text.startswith(("/", "./", "../", "~")) or os.sep + os.sep in text or text.count("/") > 1:
        raise FileNotFoundError(f"No such model folder: {text}. Pass a folder a depdetect model was saved to, or a "
                                "Hub repo id (owner/name).")


class UnaliasedLSTM(nn.LSTM):
    """`nn.LSTM` whose weights stay separate tensors on a GPU. cuDNN's `flatten_parameters` turns every weight into a
    view of one shared buffer, which safetensors refuses to save or load ("None is covering the entire storage":
    `safetensors.torch.save_model`, Accelerate's `save_state`, Trainer's checkpoints, all measured failing on an
    H200). Without it cuDNN packs the weights at each call instead: one copy of the LSTM's weights, small beside the
    encoder. The parameters, state dict and CPU path are nn.LSTM's."""

    def flatten_parameters(self) -> None:
        return None

    def forward(self, *args, **kwargs):
        with warnings.catch_warnings():  # cuDNN's advice to flatten, which is what this class declines
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
            return super().forward(*args, **kwargs)


@dataclass
class HybridExplanationOutput(ModelOutput):
    """Output of [`HybridForSequenceClassification.explain`].

    Args:
        logits: (B, num_labels) classifier scores before softmax.
        probabilities: (B, num_labels) softmax of the logits.
        awvti: (B, T) AWVTI per token (eq. 10), 0 at padding and special tokens.
        nas: (B, T) NAS per token (eq. 11), sums to 1 over real tokens.
    """

    logits: torch.Tensor | None = None
    probabilities: torch.Tensor | None = None
    awvti: torch.Tensor | None = None
    nas: torch.Tensor | None = None


class HybridPreTrainedModel(PreTrainedModel):
    config_class = HybridConfig
    base_model_prefix = "hybrid"
    main_input_name = "input_ids"
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    # The loss is a mean over the batch and `forward` ignores `num_items_in_batch`: transformers' Trainer must
    # divide it by the gradient-accumulation steps itself (it skips that for models whose forward takes **kwargs
    # unless told otherwise here).
    accepts_loss_kwargs = False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """As `PreTrainedModel.from_pretrained`; a local folder's weights are checked first (a damaged file is
        named, and a path that does not exist is not taken for a Hub id)."""
        check_local_weights(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)


class HybridForSequenceClassification(HybridPreTrainedModel):
    """PTLM + BiLSTM + CNN classifier (section 2.2 of the paper).

    The encoder's token states feed a BiLSTM (its last forward and first backward states summarise the text) and
    parallel 1-D convolutions with ReLU and max-pooling over time. `[CLS ; BiLSTM ; CNN]` (with
    `use_pooled_embedding`, the mean of the token states too) goes through a fully connected ReLU layer, dropout
    and the classifier (eqs. 8-9). Padding never reaches the BiLSTM (packed
    sequences) or the CNN (padding states are zeroed and windows that reach into padding are excluded from the
    max-pool), so a text scores the same alone or in a padded batch. Inputs must be right-padded.
    """

    def __init__(self, config: HybridConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.encoder = AutoModel.from_config(config.encoder_config)
        if getattr(self.encoder, "pooler", None) is not None:
            # The pooler is unused here; dropping it keeps every parameter in the graph (DDP needs that).
            self.encoder.pooler = None
        hidden = config.encoder_config.hidden_size
        fused = hidden * (2 if config.use_pooled_embedding else 1)
        if config.use_bilstm:
            self.lstm = UnaliasedLSTM(
                hidden,
                config.lstm_hidden_size,
                num_layers=config.lstm_num_layers,
                batch_first=True,
                bidirectional=True,
            )
            self.lstm_dropout = nn.Dropout(config.lstm_dropout)
            fused += 2 * config.lstm_hidden_size
        if config.use_cnn:
            self.convs = nn.ModuleList(nn.Conv1d(hidden, config.cnn_num_filters, k) for k in config.cnn_kernel_sizes)
            fused += config.cnn_num_filters * len(config.cnn_kernel_sizes)
        self.fc = nn.Linear(fused, config.fc_hidden_size)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.fc_hidden_size, config.num_labels)
        self.post_init()

    @classmethod
    def from_encoder(cls, encoder_name_or_path: str, encoder_kwargs: dict | None = None,
                     encoder_name: str | None = None, **config_kwargs):
        """Build a Hybrid model around a pretrained encoder (local folder or Hub id).

        The encoder's weights are loaded; the BiLSTM, CNN and head are freshly initialised.
        `config_kwargs` are [`HybridConfig`] fields (`num_labels`, `use_cnn`, `class_weights`, ...).
        `encoder_name` is what the saved config records as the encoder's name (default: a Hub id as given, a
        local path by its last part only: no local path goes into a published config).
        """
        encoder = AutoModel.from_pretrained(str(encoder_name_or_path), **(encoder_kwargs or {}))
        name = encoder_name or path_tail(encoder_name_or_path)
        encoder_config = {**encoder.config.to_dict(), "_name_or_path": name}
        config = HybridConfig(encoder_config=encoder_config, **config_kwargs)
        model = cls(config)
        state = {k: v for k, v in encoder.state_dict().items() if not k.startswith("pooler.")}
        missing, unexpected = model.encoder.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"The weights of {encoder_name_or_path!r} do not fit its own configuration "
                f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})."
            )
        return model

    def save_pretrained(self, save_directory, *args, **kwargs):
        """As `PreTrainedModel.save_pretrained`, and the folder also works with `pipeline(model=folder,
        trust_remote_code=True)`: `custom_pipelines` goes into config.json and the pipeline file beside the model
        files (transformers copies the modules this file imports with a single dot)."""
        from .handler import EndpointHandler  # noqa: F401 (so that transformers copies handler.py too)
        from .pipeline_hybrid import custom_pipelines

        self.config.custom_pipelines = custom_pipelines()
        return super().save_pretrained(save_directory, *args, **kwargs)

    # -- the two branches ---------------------------------------------------------------------------------------

    def _bilstm(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(states, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n: (layers * 2, B, Hl)
        summary = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # (B, 2Hl): last forward state, first backward state
        return self.lstm_dropout(summary)

    def _cnn(self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = (states * mask.unsqueeze(-1).to(states.dtype)).transpose(1, 2)  # (B, D, T), padding zeroed
        widest = max(self.config.cnn_kernel_sizes)
        if x.shape[-1] < widest:  # texts shorter than a kernel: zero-pad, as a lone short text would be
            x = nn.functional.pad(x, (0, widest - x.shape[-1]))
        pooled = []
        for conv, k in zip(self.convs, self.config.cnn_kernel_sizes):
            feature_map = torch.relu(conv(x))  # (B, F, T - k + 1)
            # a window starting at t is valid when it ends inside the text (or the text is shorter than k)
            last_start = torch.clamp(lengths, min=k) - k  # (B,)
            starts = torch.arange(feature_map.shape[-1], device=x.device)
            valid = starts.unsqueeze(0) <= last_start.unsqueeze(1)  # (B, T - k + 1)
            # after ReLU every value is >= 0, so zeroing invalid windows leaves the max over valid ones unchanged
            pooled.append(feature_map.masked_fill(~valid.unsqueeze(1), 0.0).amax(dim=-1))  # (B, F)
        return torch.cat(pooled, dim=-1)  # (B, F * len(kernels))

    # -- forward ------------------------------------------------------------------------------------------------

    def head(self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, bilstm=None) -> torch.Tensor:
        """Logits (B, num_labels) from the encoder's states (B, T, D), the real-token mask and the lengths: [CLS],
        the optional mean, BiLSTM and CNN fused (eq. 8), fc and classifier. `bilstm`: another implementation of
        `_bilstm` with the same result (the ONNX export's, which needs no packed sequences)."""
        features = [states[:, 0]]  # [CLS]: (B, D)
        if self.config.use_pooled_embedding:  # the mean over real tokens: (B, D)
            weights = mask.unsqueeze(-1).to(states.dtype)
            features.append((states * weights).sum(dim=1) / lengths.unsqueeze(-1).to(states.dtype))
        if self.config.use_bilstm:
            features.append((bilstm or self._bilstm)(states, lengths))  # (B, 2Hl)
        if self.config.use_cnn:
            features.append(self._cnn(states, mask, lengths))  # (B, F * K)
        fused = torch.cat(features, dim=-1)  # eq. 8
        return self.classifier(self.dropout(torch.relu(self.fc(fused))))

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` (tokenize the text with the model's tokenizer "
                             "first) and `inputs_embeds`.")
        shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:-1]
        if len(shape) != 2:
            raise ValueError(f"`input_ids` must be (batch, sequence), got shape {tuple(shape)}.")
        if attention_mask is None:
            attention_mask = torch.ones(shape, dtype=torch.long, device=(
                input_ids if input_ids is not None else inputs_embeds).device)
        mask = attention_mask.bool()
        lengths = mask.sum(dim=1)  # (B,)
        if bool((lengths == 0).any()):
            raise ValueError("A sequence in the batch has no real token (attention_mask is all zeros).")
        positions = torch.arange(mask.shape[1], device=mask.device)
        if not bool(torch.equal(mask, positions.unsqueeze(0) < lengths.unsqueeze(1))):
            raise ValueError("Inputs must be right-padded (tokenizer.padding_side = 'right').")

        encoded = self.encoder(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.head(encoded.last_hidden_state, mask, lengths)  # (B, num_labels)

        loss = None
        if labels is not None:
            loss = self.loss(logits, labels)
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (eq. 12) with the config's optional class weights."""
        labels = labels.view(-1).long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_labels):
            raise ValueError(
                f"Labels must lie in [0, {self.num_labels - 1}] ({self.config.id2label}), "
                f"got values from {int(labels.min())} to {int(labels.max())}."
            )
        weight = None
        if self.config.class_weights is not None:
            weight = torch.tensor(self.config.class_weights, dtype=torch.float32, device=logits.device)
        return nn.functional.cross_entropy(logits.float(), labels, weight=weight)

    # -- explanations -------------------------------------------------------------------------------------------

    @contextmanager
    def eager_attention(self) -> Iterator[None]:
        """Run the encoder with eager attention inside the block (attention weights need it), then switch back."""
        previous = self.encoder.config._attn_implementation
        if previous != "eager":
            self.encoder.set_attn_implementation("eager")
        try:
            yield
        finally:
            if previous != "eager":
                self.encoder.set_attn_implementation(previous)

    @torch.no_grad()
    def explain(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        special_tokens_mask: torch.Tensor | None = None,
    ) -> HybridExplanationOutput:
        """Predict and explain: probabilities plus AWVTI and NAS per token (section 2.3).

        Switches the encoder to eager attention for this call only; plain `forward` keeps the fast attention.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        with self.eager_attention():
            out = self(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_attentions=True,
            )
        return HybridExplanationOutput(
            logits=out.logits,
            probabilities=out.logits.float().softmax(dim=-1),
            awvti=awvti(out.attentions, attention_mask, special_tokens_mask),
            nas=nas(out.attentions, attention_mask, special_tokens_mask),
        )

    def integrated_gradients(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        special_tokens_mask: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
        steps: int = 20,
    ) -> torch.Tensor:
        """Integrated Gradients (Sundararajan et al. 2017) of the `target` class's probability per token, (B, T).

        The path runs from a baseline where every real token's input embedding is the [PAD] token's (special
        tokens and positions stay as they are) to the text, in `steps` midpoint steps; a token's attribution is
        (embedding - baseline) . mean gradient along the path, summed over the embedding's dimensions. The
        attributions of a text sum to about P(target | text) - P(target | baseline) (completeness; more steps,
        closer). Positive: the token raises the class's probability. `target` defaults to the argmax class. 0 at
        padding and special tokens.
        """
        if steps < 1:
            raise ValueError(f"`steps` must be >= 1, got {steps}.")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        real = _real_token_mask(attention_mask, special_tokens_mask)  # (B, T)
        embeddings = self.encoder.get_input_embeddings()
        pad = self.config.encoder_config.pad_token_id
        pad = 0 if pad is None else int(pad)
        alphas = (torch.arange(steps, dtype=torch.float32, device=input_ids.device) + 0.5) / steps  # midpoints
        out = torch.zeros(input_ids.shape, dtype=torch.float32, device=input_ids.device)
        with torch.no_grad():
            if target is None:
                target = self(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits.argmax(-1)
        for b in range(input_ids.shape[0]):
            with torch.no_grad():
                text = embeddings(input_ids[b : b + 1])  # (1, T, D)
                base = torch.where(real[b, :, None], embeddings(torch.full_like(input_ids[b : b + 1], pad)), text)
            path = (base + alphas[:, None, None] * (text - base)).detach().requires_grad_(True)  # (S, T, D)
            # cuDNN's RNN has no backward pass in eval mode; the BiLSTM runs on the native kernel here
            with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
                logits = self(inputs_embeds=path, attention_mask=attention_mask[b : b + 1].expand(steps, -1),
                              token_type_ids=None if token_type_ids is None else
                              token_type_ids[b : b + 1].expand(steps, -1)).logits
                probability = logits.float().softmax(-1)[:, int(target[b])].sum()
                (gradient,) = torch.autograd.grad(probability, path)
            out[b] = ((text - base)[0].float() * gradient.float().mean(0)).sum(-1) * real[b]
        return out


HybridForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = ["HybridForSequenceClassification", "HybridPreTrainedModel", "HybridExplanationOutput", "awvti", "nas"]
