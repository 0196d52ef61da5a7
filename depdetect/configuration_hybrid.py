"""Configuration of the Hybrid (PTLM + BiLSTM + CNN) depression classifier.

Paper: "An interpretable deep learning framework for early detection of depression using hybrid
architectures", IJECE 16(2), 2026, pp. 895-904 (sections 2.2, 3.1 and 3.2 give the defaults below).

This file travels to the Hub with saved models: it imports only transformers.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec


class HybridConfig(PretrainedConfig):
    r"""Configuration of [`HybridForSequenceClassification`].

    Args:
        encoder_config (`dict` or `PretrainedConfig`, *optional*):
            Configuration of the pretrained transformer (any BERT-family encoder that `AutoModel.from_config`
            builds). Its weights are loaded by `HybridForSequenceClassification.from_encoder` or by
            `from_pretrained`, never by the constructor. Defaults to a `bert` configuration.
        use_bilstm (`bool`, *optional*, defaults to `True`):
            Use the BiLSTM branch (section 2.2). `use_bilstm=False, use_cnn=False` is the paper's ES1
            (PTLM only), `use_cnn=False` is ES2 (PTLM + BiLSTM), `use_bilstm=False` is ES3 (PTLM + CNN).
        use_cnn (`bool`, *optional*, defaults to `True`):
            Use the CNN branch (section 2.2).
        lstm_hidden_size (`int`, *optional*, defaults to 128):
            Hidden units per direction of the BiLSTM (section 3.2: "128 hidden units").
        lstm_num_layers (`int`, *optional*, defaults to 1):
            Stacked BiLSTM layers (the paper uses one).
        lstm_dropout (`float`, *optional*, defaults to 0.3):
            Dropout applied right after the BiLSTM (sections 3.1 and 3.2).
        cnn_kernel_sizes (`list[int]`, *optional*, defaults to `(3, 4, 5)`):
            Widths of the parallel 1-D convolutions (section 3.2; section 3.1 says (2, 3, 4), the architecture
            section and Table 1's system use (3, 4, 5)).
        cnn_num_filters (`int`, *optional*, defaults to 100):
            Filters per kernel size (section 3.1).
        fc_hidden_size (`int`, *optional*, defaults to 256):
            Units of the fully connected ReLU layer after fusion (section 3.2).
        classifier_dropout (`float`, *optional*, defaults to 0.3):
            Dropout between the fully connected layer and the classifier (section 3.1's dropout rate).
        class_weights (`list[float]`, *optional*):
            Per-class weights of the cross-entropy loss (one per label), e.g. for the 1:10 RMHD default task.
            `None` means unweighted.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialiser of the new (non-encoder) layers.
        max_length (`int`, *optional*, defaults to 128):
            Maximum sequence length in tokens used at training time (section 3.1); the pipeline truncates to it.
    """

    model_type = "depdetect_hybrid"
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder_config: Any = None
    use_bilstm: bool = True
    use_cnn: bool = True
    lstm_hidden_size: int = 128
    lstm_num_layers: int = 1
    lstm_dropout: float = 0.3
    cnn_kernel_sizes: Any = (3, 4, 5)
    cnn_num_filters: int = 100
    fc_hidden_size: int = 256
    classifier_dropout: float = 0.3
    class_weights: Any = None
    initializer_range: float = 0.02
    max_length: int = 128

    def __post_init__(self, **kwargs: Any) -> None:
        if kwargs.get("id2label") is None and self.id2label is None and kwargs.get("num_labels") in (None, 2):
            self.id2label = {0: "control", 1: "depression"}
            self.label2id = {"control": 0, "depression": 1}
        super().__post_init__(**kwargs)
        self.cnn_kernel_sizes = [int(k) for k in self.cnn_kernel_sizes]
        for name in ("lstm_hidden_size", "lstm_num_layers", "cnn_num_filters", "fc_hidden_size", "max_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if not self.cnn_kernel_sizes or any(k <= 0 for k in self.cnn_kernel_sizes):
            raise ValueError(f"`cnn_kernel_sizes` must be a non-empty list of positive integers, got {self.cnn_kernel_sizes!r}.")
        for name in ("lstm_dropout", "classifier_dropout"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {value!r}.")
        if self.class_weights is not None:
            weights = [float(w) for w in self.class_weights]
            if len(weights) != self.num_labels or any(w <= 0 for w in weights):
                raise ValueError(
                    f"`class_weights` must hold {self.num_labels} positive numbers (one per label), got {self.class_weights!r}."
                )
            self.class_weights = weights


__all__ = ["HybridConfig"]
