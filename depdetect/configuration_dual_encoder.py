"""Configuration of the MHIM dual encoder (interview-level depression severity).

Paper: "Explainable Depression Detection using Masked Hard Instance Mining" (arXiv 2505.24609); the dual encoder
follows Lau et al. 2023 (Frontiers in Psychiatry), whose public configuration gives the defaults below.

This file travels to the Hub with saved models: it imports only transformers.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec


class DualEncoderConfig(PretrainedConfig):
    r"""Configuration of [`DualEncoderForDepressionScoring`].

    Args:
        prefix_encoder_config (`dict` or `PretrainedConfig`, *optional*):
            The transformer of the prefix encoder (frozen; only its P-tuning v2 prefixes train). BERT-family.
        sentence_encoder_config (`dict` or `PretrainedConfig`, *optional*):
            The transformer of the sentence encoder (a sentence-transformer body: mean pooling, L2-normalised).
            Both encoders read the same token ids, so they must share a vocabulary (the default uses the same
            MiniLM for both).
        prefix_length (`int`, *optional*, defaults to 10):
            Trainable prefix vectors per layer (P-tuning v2; `pre_seq_len` 10 in Lau et al.).
        train_sentence_encoder (`bool`, *optional*, defaults to `False`):
            Fine-tune the sentence encoder too (Lau et al. keep it frozen).
        projection_size (`int`, *optional*, defaults to 128):
            Common size both turn encodings are projected to before they are averaged (Lau et al.: 128).
        lstm_hidden_size (`int`, *optional*, defaults to 64):
            Hidden units per direction of the BiLSTM over turns (Lau et al.: 64).
        lstm_num_layers (`int`, *optional*, defaults to 1):
            Stacked BiLSTM layers.
        dropout (`float`, *optional*, defaults to 0.5):
            Dropout on turn encodings, prefixes and the pooled vector (Lau et al.: 0.5).
        max_turn_length (`int`, *optional*, defaults to 128):
            Tokens per turn (prompt + response pair); longer turns are truncated, longest part first.
        num_labels (`int`, *optional*, defaults to 1):
            1: regression of the severity score (MSE); 2: classification (e.g. PHQ-8 >= 10, cross-entropy).
        score_threshold (`float`, *optional*, defaults to 10.0):
            The score at or above which an interview counts as positive (PHQ-8 >= 10) when labels are derived
            from scores.
        score_mean (`float`, *optional*, defaults to 0.0), score_std (`float`, *optional*, defaults to 1.0):
            Regression targets are standardised with these (train.py sets them from the training scores): the
            head predicts (score - mean) / std, the model returns scores on the original scale.
        encoder_batch_size (`int`, *optional*, defaults to 64):
            Turns encoded per transformer call (bounds peak memory on long interviews).
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialiser of the new layers.
    """

    model_type = "depdetect_dual_encoder"
    sub_configs_defaults = {
        "prefix_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert"),
        "sentence_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert"),
    }

    prefix_encoder_config: Any = None
    sentence_encoder_config: Any = None
    prefix_length: int = 10
    train_sentence_encoder: bool = False
    projection_size: int = 128
    lstm_hidden_size: int = 64
    lstm_num_layers: int = 1
    dropout: float = 0.5
    max_turn_length: int = 128
    score_threshold: float = 10.0
    score_mean: float = 0.0
    score_std: float = 1.0
    encoder_batch_size: int = 64
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs: Any) -> None:
        if kwargs.get("num_labels") is None and self.id2label is None:
            kwargs["num_labels"] = 1
        super().__post_init__(**kwargs)
        if self.num_labels == 1:
            self.problem_type = "regression"
            self.id2label, self.label2id = {0: "score"}, {"score": 0}
        elif self.num_labels == 2:
            self.problem_type = "single_label_classification"
            if self.id2label == {0: "LABEL_0", 1: "LABEL_1"}:
                self.id2label, self.label2id = {0: "control", 1: "depression"}, {"control": 0, "depression": 1}
        else:
            raise ValueError(f"`num_labels` must be 1 (severity regression) or 2 (classification), got {self.num_labels}.")
        for name in ("prefix_length", "projection_size", "lstm_hidden_size", "lstm_num_layers", "max_turn_length",
                     "encoder_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if not float(self.score_std) > 0:
            raise ValueError(f"`score_std` must be > 0, got {self.score_std!r}.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout!r}.")
        prefix_vocab = self.prefix_encoder_config.vocab_size
        sentence_vocab = self.sentence_encoder_config.vocab_size
        if prefix_vocab != sentence_vocab:
            raise ValueError(
                f"The prefix encoder (vocab {prefix_vocab}) and the sentence encoder (vocab {sentence_vocab}) must "
                "share a tokenizer: pick two encoders with the same vocabulary."
            )
        limit = self.prefix_encoder_config.max_position_embeddings - self.prefix_length
        if self.max_turn_length > limit:
            raise ValueError(
                f"`max_turn_length` ({self.max_turn_length}) + `prefix_length` ({self.prefix_length}) exceeds the prefix "
                f"encoder's {self.prefix_encoder_config.max_position_embeddings} positions; use at most {limit}."
            )


__all__ = ["DualEncoderConfig"]
