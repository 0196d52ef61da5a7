"""MHIM dual encoder: interview-level depression severity from question-response turns.

Each turn (interviewer prompt + participant response) is encoded twice: by a prefix encoder (a frozen transformer
with trainable P-tuning v2 prefixes, mean of its last hidden states) and by a sentence encoder (mean pooling,
L2-normalised). Both are projected to a common size and averaged; a BiLSTM runs over the turns, additive attention
pools them, and a head regresses the score (MSE) or classifies. Lau et al. 2023 designed the dual encoder;
arXiv 2505.24609 trains it in two phases with masked hard instance mining (mhim.py beside this file), which reaches the
model as `instance_mask`: masked turns are removed before the BiLSTM (so no recurrent state carries them) and get
zero attention.

The sentence encoder is frozen by default: it then runs in eval mode (no dropout) even while the model trains, so
each turn's sentence encoding is a fixed function of its tokens. Training passes them precomputed
(`sentence_embeddings`, computed once per run by depdetect) instead of running the encoder every step; the result
is the same. Turns are encoded in length-sorted chunks (`length_sorted_chunks`) so that little is padding.

This file travels to the Hub with saved models: it imports only torch, transformers and its siblings
`configuration_dual_encoder`, `pipeline_dual_encoder` and `handler` (the last two imported in `save_pretrained`, so
that every saved model carries its pipeline and its Inference Endpoints handler).
"""

from __future__ import annotations

import inspect
import json
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import AutoModel, DynamicCache, PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_dual_encoder import DualEncoderConfig, path_tail


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


# Copied from depdetect.hybrid.modeling_hybrid.UnaliasedLSTM
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
class DualEncoderOutput(ModelOutput):
    """Output of [`DualEncoderForDepressionScoring`].

    Args:
        loss: MSE (regression) or cross-entropy (classification), when labels are given.
        logits: (B, num_labels) head output.
        scores: (B,) predicted severity (regression) or probability of the positive class (classification).
        attentions: (B, N) attention over the turns, in interview order; 0 at padding and masked turns.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    scores: torch.Tensor | None = None
    attentions: torch.Tensor | None = None


class AdditiveAttention(nn.Module):
    """alpha_i = softmax_i(u . tanh(W h_i)) over the valid turns; returns sum_i alpha_i h_i and alpha."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.context = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.context(torch.tanh(self.proj(states))).squeeze(-1)  # (B, N)
        scores = scores.float().masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, N)
        pooled = torch.bmm(weights.unsqueeze(1).to(states.dtype), states).squeeze(1)  # (B, H)
        return pooled, weights


class DualEncoderPreTrainedModel(PreTrainedModel):
    config_class = DualEncoderConfig
    base_model_prefix = "dual_encoder"
    main_input_name = "input_ids"
    _supports_sdpa = True
    _supports_attention_backend = True
    # The loss is a mean over the batch and `forward` ignores `num_items_in_batch`: transformers' Trainer must
    # divide it by the gradient-accumulation steps itself (it skips that for models whose forward takes **kwargs
    # unless told otherwise here).
    accepts_loss_kwargs = False


class DualEncoderForDepressionScoring(DualEncoderPreTrainedModel):
    """Dual encoder over interview turns (see the module docstring).

    Inputs are a batch of interviews, each padded to N turns of T tokens: `input_ids`, `attention_mask` and
    optional `token_type_ids` of shape (B, N, T), and `turn_mask` (B, N) marking real turns. Padding turns are
    never encoded and never receive attention.
    """

    def __init__(self, config: DualEncoderConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.prefix_encoder = AutoModel.from_config(config.prefix_encoder_config)
        # the name under which the prefix encoder takes the prefixes: `cache` where its forward has it (transformers
        # renamed `past_key_values`, which 5.40 removes), else `past_key_values` (older releases)
        parameters = inspect.signature(type(self.prefix_encoder).forward).parameters
        self.prefix_argument = "cache" if "cache" in parameters else "past_key_values"
        self.sentence_encoder = AutoModel.from_config(config.sentence_encoder_config)
        for encoder in (self.prefix_encoder, self.sentence_encoder):
            if getattr(encoder, "pooler", None) is not None:
                encoder.pooler = None  # unused
        pc = config.prefix_encoder_config
        self.head_dim = pc.hidden_size // pc.num_attention_heads
        # P-tuning v2: one key and one value prefix per layer
        self.prefix = nn.Embedding(config.prefix_length, pc.num_hidden_layers * 2 * pc.hidden_size)
        self.prefix_projection = nn.Linear(pc.hidden_size, config.projection_size)
        self.sentence_projection = nn.Linear(config.sentence_encoder_config.hidden_size, config.projection_size)
        self.lstm = UnaliasedLSTM(
            config.projection_size,
            config.lstm_hidden_size,
            num_layers=config.lstm_num_layers,
            batch_first=True,
            bidirectional=True,
        )
        self.attention = AdditiveAttention(2 * config.lstm_hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.lstm_hidden_size, config.num_labels)
        self.post_init()
        self.freeze_encoders()

    def freeze_encoders(self) -> None:
        """Backbones stay frozen: the prefix encoder always, the sentence encoder unless configured to train."""
        self.prefix_encoder.requires_grad_(False)
        self.sentence_encoder.requires_grad_(bool(self.config.train_sentence_encoder))
        self.train(self.training)

    def train(self, mode: bool = True):
        """As `nn.Module.train`; a frozen sentence encoder stays in eval mode (a fixed feature extractor, no
        dropout), so that its encodings can be computed once and reused."""
        super().train(mode)
        if not self.config.train_sentence_encoder:
            self.sentence_encoder.eval()
        return self

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """As `PreTrainedModel.from_pretrained`, with the backbones frozen again (loading resets requires_grad); a
        local folder's weights are checked first (a damaged file is named, a missing path is not taken for a Hub
        id)."""
        check_local_weights(pretrained_model_name_or_path)
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        model.freeze_encoders()
        return model

    def save_pretrained(self, save_directory, *args, **kwargs):
        """As `PreTrainedModel.save_pretrained`, and the folder also works with `pipeline(model=folder,
        trust_remote_code=True)`: `custom_pipelines` goes into config.json and the pipeline file beside the model
        files (transformers copies the modules this file imports with a single dot)."""
        from .handler import EndpointHandler  # noqa: F401 (so that transformers copies handler.py too)
        from .pipeline_dual_encoder import custom_pipelines

        self.config.custom_pipelines = custom_pipelines()
        return super().save_pretrained(save_directory, *args, **kwargs)

    @classmethod
    def from_encoders(
        cls,
        prefix_encoder: str,
        sentence_encoder: str | None = None,
        encoder_names: tuple[str, str] | None = None,
        **config_kwargs,
    ) -> DualEncoderForDepressionScoring:
        """Build the model around pretrained encoders (folders or Hub ids); new layers are freshly initialised.
        `encoder_names` are what the saved config records as the encoders' names (default: Hub ids as given, local
        paths by their last part only)."""
        prefix = AutoModel.from_pretrained(str(prefix_encoder))
        sentence = (
            prefix if sentence_encoder in (None, prefix_encoder) else AutoModel.from_pretrained(str(sentence_encoder))
        )
        names = encoder_names or (path_tail(prefix_encoder), path_tail(sentence_encoder or prefix_encoder))
        config = DualEncoderConfig(
            prefix_encoder_config={**prefix.config.to_dict(), "_name_or_path": names[0]},
            sentence_encoder_config={**sentence.config.to_dict(), "_name_or_path": names[1]},
            **config_kwargs,
        )
        model = cls(config)
        for target, source, name in (
            (model.prefix_encoder, prefix, prefix_encoder),
            (model.sentence_encoder, sentence, sentence_encoder),
        ):
            state = {k: v for k, v in source.state_dict().items() if not k.startswith("pooler.")}
            missing, unexpected = target.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ValueError(f"The weights of {name!r} do not fit its configuration (missing {missing[:5]}, "
                                 f"unexpected {unexpected[:5]}).")
        return model

    # -- turn encoders ------------------------------------------------------------------------------------------

    def _prefix_cache(self, batch_size: int) -> DynamicCache:
        pc = self.config.prefix_encoder_config
        prefix = self.dropout(self.prefix.weight)  # (P, L * 2 * H)
        kv = prefix.view(self.config.prefix_length, pc.num_hidden_layers, 2, pc.num_attention_heads, self.head_dim)
        kv = kv.permute(1, 2, 3, 0, 4)  # (L, 2, heads, P, d)
        cache = DynamicCache(config=pc)
        for layer in range(pc.num_hidden_layers):
            key = kv[layer, 0].unsqueeze(0).expand(batch_size, -1, -1, -1)  # (b, heads, P, d)
            value = kv[layer, 1].unsqueeze(0).expand(batch_size, -1, -1, -1)
            cache.update(key, value, layer)
        return cache

    def sentence_encodings(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        """(M, T) token ids of M turns -> (M, Hs) sentence encodings (mean pooling, L2-normalised): what
        `sentence_embeddings` holds when precomputed."""
        mask = attention_mask.unsqueeze(-1).to(torch.float32)  # (M, T, 1)
        count = mask.sum(1).clamp_min(1.0)
        with torch.set_grad_enabled(torch.is_grad_enabled() and bool(self.config.train_sentence_encoder)):
            tokens = self.sentence_encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state  # (M, T, Hs)
        return nn.functional.normalize((tokens.float() * mask).sum(1) / count, p=2, dim=-1)

    def _encode_turns(self, input_ids, attention_mask, token_type_ids, sentence_encoding=None) -> torch.Tensor:
        """(M, T) token ids of M turns -> (M, projection_size) fused turn encodings (`sentence_encoding`: the
        turns' precomputed sentence encodings, (M, Hs))."""
        mask = attention_mask.unsqueeze(-1).to(torch.float32)  # (M, T, 1)
        count = mask.sum(1).clamp_min(1.0)

        prefix_mask = torch.cat(
            [attention_mask.new_ones(input_ids.shape[0], self.config.prefix_length), attention_mask], dim=1
        )
        hidden = self.prefix_encoder(
            input_ids=input_ids,
            attention_mask=prefix_mask,
            token_type_ids=token_type_ids,
            **{self.prefix_argument: self._prefix_cache(input_ids.shape[0])},
        ).last_hidden_state  # (M, T, Hp)
        prefix_encoding = (hidden.float() * mask).sum(1) / count  # mean over real tokens: (M, Hp)
        if sentence_encoding is None:
            sentence_encoding = self.sentence_encodings(input_ids, attention_mask, token_type_ids)

        prefix_encoding = self.prefix_projection(self.dropout(prefix_encoding.to(self.prefix_projection.weight.dtype)))
        sentence_encoding = self.sentence_projection(
            self.dropout(sentence_encoding.to(self.sentence_projection.weight.dtype))
        )
        return (prefix_encoding + sentence_encoding) / 2  # (M, proj)

    def _encode_chunks(self, ids, mask, types, sentence) -> torch.Tensor:
        """Encode M turns in chunks of at most `encoder_batch_size`, each trimmed to its longest turn. With
        `length_sorted_chunks`, turns of similar length share a chunk (sorted by length; a chunk ends where a turn
        is under 3/4 of its longest), so little is padding; encodings come back in the given order."""
        size, lengths = self.config.encoder_batch_size, mask.sum(1)
        if not self.config.length_sorted_chunks:
            longest = int(lengths.max())  # one trim for all, chunks in the given order
            ids, mask = ids[:, :longest], mask[:, :longest]
            types = None if types is None else types[:, :longest]
            return torch.cat([
                self._encode_turns(ids[i : i + size], mask[i : i + size],
                                   None if types is None else types[i : i + size],
                                   None if sentence is None else sentence[i : i + size])
                for i in range(0, ids.shape[0], size)
            ])
        order = torch.argsort(lengths, descending=True, stable=True)
        sorted_lengths = lengths[order].tolist()
        chunks, start = [], 0
        for i in range(1, len(order) + 1):
            if i == len(order) or i - start == size or 4 * sorted_lengths[i] < 3 * sorted_lengths[start]:
                index, longest = order[start:i], int(sorted_lengths[start])
                chunks.append(self._encode_turns(
                    ids[index, :longest], mask[index, :longest], None if types is None else types[index, :longest],
                    None if sentence is None else sentence[index]))
                start = i
        encoded = torch.cat(chunks)
        return encoded.new_empty(encoded.shape).index_copy(0, order, encoded)

    # -- forward ------------------------------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        turn_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        instance_mask: torch.Tensor | None = None,
        sentence_embeddings: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> DualEncoderOutput:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids: (B, N, T) tokens of N turns per interview.
            turn_mask: (B, N), 1 for real turns, 0 for padding turns. Defaults to turns with any token.
            instance_mask: (B, N), 1 for turns hidden from the model (MHIM, Phase 2). At least one real turn
                per interview must stay visible.
            sentence_embeddings: (B, N, Hs) the turns' sentence encodings, precomputed with
                `sentence_encodings` (only while the sentence encoder is frozen); computed here when absent.
            labels: (B,) scores (regression) or class indices (classification).
        """
        if input_ids is None or input_ids.dim() != 3:
            raise ValueError(
                "`input_ids` must be (batch, turns, tokens); got "
                f"{None if input_ids is None else tuple(input_ids.shape)}. Use the depression-scoring pipeline or "
                "depdetect's interview collator to build inputs."
            )
        if attention_mask is None:
            attention_mask = (input_ids != (self.config.prefix_encoder_config.pad_token_id or 0)).long()
        order, visible, lengths = self._visible_turns(attention_mask, turn_mask, instance_mask)  # (B, N'), (B,)
        turns = self._encode_visible_turns(order, visible, input_ids, attention_mask, token_type_ids,
                                   sentence_embeddings)  # (B, N', proj)
        packed = pack_padded_sequence(turns, lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, _ = self.lstm(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=order.shape[1])  # (B, N', 2h)
        pooled, weights = self.attention(states, visible)  # (B, 2h), (B, N')
        logits = self.head(self.dropout(pooled))  # (B, num_labels)
        attentions = weights.new_zeros(input_ids.shape[:2]).scatter(1, order, weights)  # back to turn order: (B, N)
        loss = None if labels is None else self.loss(logits, labels)
        return DualEncoderOutput(loss=loss, logits=logits, scores=self.scores(logits), attentions=attentions)

    @staticmethod
    def _visible_turns(attention_mask: torch.Tensor, turn_mask: torch.Tensor | None,
                       instance_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The turns the model reads (real and not hidden by MHIM), moved to the front in interview order, so that
        masked turns never reach the BiLSTM: (order (B, N'), visible (B, N'), lengths (B,))."""
        if turn_mask is None:
            turn_mask = attention_mask.any(-1)
        keep = turn_mask.bool()
        if instance_mask is not None:
            keep = keep & ~instance_mask.bool()
        lengths = keep.sum(1)  # (B,)
        if bool((lengths == 0).any()):
            raise ValueError("An interview in the batch has no turn left to read (no turns, or every turn masked).")
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # (B, N)
        width = int(lengths.max())
        order = order[:, :width]  # (B, N')
        visible = torch.arange(width, device=order.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, N')
        return order, visible, lengths

    def _encode_visible_turns(self, order: torch.Tensor, visible: torch.Tensor, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None,
                      sentence_embeddings: torch.Tensor | None) -> torch.Tensor:
        """The visible turns' projected encodings (prefix + sentence encoder), zero for padding: (B, N', proj)."""
        def gather(x):
            return x.gather(1, order.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # (B, N', T)

        flat = visible.reshape(-1)
        ids = gather(input_ids).reshape(-1, input_ids.shape[-1])[flat]  # (M, T)
        mask = gather(attention_mask).reshape(-1, input_ids.shape[-1])[flat]
        types = None if token_type_ids is None else gather(token_type_ids).reshape(-1, input_ids.shape[-1])[flat]
        sentence = None
        if sentence_embeddings is not None:
            if self.config.train_sentence_encoder:
                raise ValueError("`sentence_embeddings` are for a frozen sentence encoder; this one trains.")
            sentence = gather(sentence_embeddings).reshape(-1, sentence_embeddings.shape[-1])[flat]  # (M, Hs)
        encoded = self._encode_chunks(ids, mask, types, sentence)  # (M, proj)
        turns = encoded.new_zeros(visible.shape[0], visible.shape[1], encoded.shape[-1])  # (B, N', proj)
        turns[visible] = encoded
        return turns

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """The severity on the score's scale (regression) or P(depression) (classification): (B,)."""
        if self.num_labels == 1:
            return logits.squeeze(-1).float() * self.config.score_std + self.config.score_mean
        return logits.float().softmax(-1)[:, 1]

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.num_labels == 1:
            labels = labels.view(-1).float()
            if bool(torch.isnan(labels).any()):
                raise ValueError("A score label is NaN: drop or fill interviews without a score before training.")
            target = (labels - self.config.score_mean) / self.config.score_std  # standardised scale
            return nn.functional.mse_loss(logits.view(-1).float(), target)
        labels = labels.view(-1).long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_labels):
            raise ValueError(f"Labels must lie in [0, {self.num_labels - 1}], got {labels.tolist()}.")
        return nn.functional.cross_entropy(logits.float(), labels)


DualEncoderForDepressionScoring.register_for_auto_class("AutoModel")

__all__ = ["DualEncoderForDepressionScoring", "DualEncoderPreTrainedModel", "DualEncoderOutput", "AdditiveAttention"]
