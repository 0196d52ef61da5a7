"""Configuration of the Hybrid (PTLM + BiLSTM + CNN) depression classifier.

Paper: "An interpretable deep learning framework for early detection of depression using hybrid
architectures", IJECE 16(2), 2026, pp. 895-904 (sections 2.2, 3.1 and 3.2 give the defaults below).

Each field's `help` says what it means and where its default comes from; `depdetect train hybrid --help` shows the
same text, read from this file. This file travels to the Hub with saved models: it imports only transformers.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

#: upper bounds of the sizes (far above any sensible value: they catch typos before memory is allocated)
MAX_SIZES = {"lstm_hidden_size": 16384, "lstm_num_layers": 32, "cnn_num_filters": 16384, "fc_hidden_size": 65536,
             "max_length": 65536}
#: upper bounds of an encoder config's size fields, each far above any published encoder (the largest have 128
#: layers, 16k hidden units, 256k-word vocabularies); any other integer field named like a size is held to the
#: largest of them. Checked field by field, then as a parameter estimate, before anything is allocated.
ENCODER_BOUNDS = {"num_hidden_layers": 256, "num_layers": 256, "n_layer": 256, "num_attention_heads": 1024,
                  "hidden_size": 32768, "intermediate_size": 262144, "vocab_size": 2_000_000,
                  "max_position_embeddings": 1_048_576, "type_vocab_size": 4096}
#: parameters an encoder config may imply (layers x (4 hidden^2 + 2 hidden x intermediate) + embeddings)
MAX_ENCODER_PARAMETERS = 2e10


def check_encoder_size(config: Any, name: str) -> None:
    """Refuse an encoder configuration whose size is absurd (e.g. 100,000 layers) before anything is built: every
    integer field named like a size (`*_size`, `num_*`, `n_*`, `*_embeddings`) is bounded, and so is the number of
    parameters they imply."""
    values = config if isinstance(config, dict) else (config.to_dict() if hasattr(config, "to_dict") else {})
    largest = max(ENCODER_BOUNDS.values())
    for key, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        sized = key.endswith(("_size", "_embeddings", "_layers")) or key.startswith(("num_", "n_"))
        bound = ENCODER_BOUNDS.get(key, largest if sized else None)
        if bound is not None and value > bound:
            raise ValueError(f"`{name}.{key}` is {value}, above the {bound} any encoder has; refused before "
                             "allocating. Check the config.")
    get = values.get
    layers = get("num_hidden_layers") or get("num_layers") or get("n_layer") or 0
    hidden, inner = get("hidden_size") or 0, get("intermediate_size") or 4 * (get("hidden_size") or 0)
    embeddings = ((get("vocab_size") or 0) + (get("max_position_embeddings") or 0)) * hidden
    if all(isinstance(v, int) for v in (layers, hidden, inner)):
        parameters = layers * (4 * hidden**2 + 2 * hidden * inner) + embeddings
        if parameters > MAX_ENCODER_PARAMETERS:
            raise ValueError(f"`{name}` describes an encoder of {layers} layers x hidden size {hidden} "
                             f"(~{parameters:.1e} parameters); refused before allocating. Check the config.")


def path_tail(name_or_path: Any) -> str:
    """A Hub id as it is; a local path by its last part (what a saved config may record about an encoder). The
    remote-code stand-in for `depdetect.utils.public_name`, which also knows the bundled encoder's path."""
    text = str(name_or_path)
    if text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text:
        return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return text


def check_calibration(config: Any) -> None:
    """Validate the fitted calibration and threshold fields (absent in configs saved before depdetect 0.4)."""
    calibration = config.calibration
    if calibration is not None:
        method = calibration.get("method") if isinstance(calibration, dict) else None
        needed = {"temperature": ("temperature",), "platt": ("a", "b")}.get(method)
        if needed is None or any(not isinstance(calibration.get(k), (int, float)) for k in needed):
            raise ValueError(f"`calibration` must be {{'method': 'temperature', 'temperature': T}} or {{'method': "
                             f"'platt', 'a': a, 'b': b}}, got {calibration!r}.")
        if method == "temperature" and not 0 < float(calibration["temperature"]) < float("inf"):
            raise ValueError(f"The calibration temperature must be > 0, got {calibration['temperature']!r}.")
        if method == "platt" and config.num_labels != 2:
            raise ValueError("Platt calibration applies to two labels only.")
    threshold = config.decision_threshold
    if threshold is not None and (config.num_labels != 2 or not 0 < float(threshold) < 1):
        raise ValueError(f"`decision_threshold` must be in (0, 1) and needs two labels, got {threshold!r}.")


class HybridConfig(PretrainedConfig):
    r"""Configuration of [`HybridForSequenceClassification`]: every hyper-parameter of the model, with the paper's
    defaults. `use_bilstm=False, use_cnn=False` is the paper's ES1 (PTLM only), `use_cnn=False` ES2 (PTLM + BiLSTM),
    `use_bilstm=False` ES3 (PTLM + CNN). The encoder's weights are loaded by
    `HybridForSequenceClassification.from_encoder` or `from_pretrained`, never by the constructor.
    """

    model_type = "depdetect_hybrid"
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder_config: Any = field(default=None, metadata={"help": (
        "Configuration of the pretrained transformer: any BERT-family encoder that AutoModel.from_config builds.")})
    use_bilstm: bool = field(default=True, metadata={"help": (
        "Drop the BiLSTM branch (section 2.2); with --no_cnn too this is ES1, alone ES3.")})
    use_cnn: bool = field(default=True, metadata={"help": (
        "Drop the CNN branch (section 2.2); with --no_bilstm too this is ES1, alone ES2.")})
    use_pooled_embedding: bool = field(default=True, metadata={"help": (
        "Leave out the mean of the encoder's token states (the sentence embedding of Sentence-BERT, Reimers & "
        "Gurevych 2019, that the embedding baseline and SetFit read), which depdetect adds beside [CLS], BiLSTM and "
        "CNN in the fused vector (not in the paper; kept as the default for its validation AUPRC, BENCHMARKS.md "
        "'Models worth choosing'): the paper's fusion. Folders saved before depdetect 0.11 load without it.")})
    lstm_hidden_size: int = field(default=128, metadata={"help": (
        "Hidden units per direction of the BiLSTM (section 3.2: '128 hidden units').")})
    lstm_num_layers: int = field(default=1, metadata={"help": "Stacked BiLSTM layers (the paper uses one)."})
    lstm_dropout: float = field(default=0.3, metadata={"help": (
        "Dropout right after the BiLSTM (sections 3.1 and 3.2: 0.3).")})
    cnn_kernel_sizes: list[int] | tuple[int, ...] = field(default=(3, 4, 5), metadata={"help": (
        "Widths of the parallel 1-D convolutions (section 3.2 and Table 1's system; section 3.1 says 2 3 4).")})
    cnn_num_filters: int = field(default=100, metadata={"help": "Filters per kernel width (section 3.1: 100)."})
    fc_hidden_size: int = field(default=256, metadata={"help": (
        "Units of the fully connected ReLU layer after fusion (section 3.2: 256).")})
    classifier_dropout: float = field(default=0.3, metadata={"help": (
        "Dropout between the fully connected layer and the classifier (section 3.1: 0.3).")})
    class_weights: list[float] | None = field(default=None, metadata={"help": (
        "Per-class weights of the cross-entropy (one per label), e.g. for the 1:10 RMHD task; none: unweighted.")})
    initializer_range: float = field(default=0.02, metadata={"help": (
        "Standard deviation of the normal initialiser of the new (non-encoder) layers.")})
    max_length: int = field(default=128, metadata={"help": (
        "Tokens per text at training time (section 3.1: 128); the pipeline truncates to it.")})
    calibration: dict | None = field(default=None, metadata={"help": (
        "Calibration of the probabilities fitted on validation by depdetect ({'method': 'temperature', "
        "'temperature': T} or {'method': 'platt', 'a': a, 'b': b}); none: the softmax as it is.")})
    decision_threshold: float | None = field(default=None, metadata={"help": (
        "P(depression) at or above which the label is depression, chosen on validation; none: the argmax.")})
    threshold_rule: str | None = field(default=None, metadata={"help": (
        "The rule that chose `decision_threshold` (0.5, f1, recall@R, precision@P or a number).")})

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs: Any):
        """As `PretrainedConfig.from_dict`; a config saved before `use_pooled_embedding` existed (depdetect < 0.11)
        describes the paper's fusion, so the field is False there, whatever today's default."""
        if "use_pooled_embedding" not in config_dict and "use_pooled_embedding" not in kwargs:
            config_dict = {**config_dict, "use_pooled_embedding": False}
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs: Any) -> None:
        if kwargs.get("id2label") is None and self.id2label is None and kwargs.get("num_labels") in (None, 2):
            self.id2label = {0: "control", 1: "depression"}
            self.label2id = {"control": 0, "depression": 1}
        super().__post_init__(**kwargs)
        if isinstance(self.cnn_kernel_sizes, (int, str)) or any(
                isinstance(k, bool) or not isinstance(k, int) for k in self.cnn_kernel_sizes):
            raise ValueError(f"`cnn_kernel_sizes` must be a list of integers, got {self.cnn_kernel_sizes!r}.")
        self.cnn_kernel_sizes = [int(k) for k in self.cnn_kernel_sizes]
        for name in ("lstm_hidden_size", "lstm_num_layers", "cnn_num_filters", "fc_hidden_size", "max_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
            if value > MAX_SIZES[name]:
                raise ValueError(f"`{name}` is {value}, above the {MAX_SIZES[name]} this model allows; a typo? "
                                 "(checked before any memory is allocated)")
        if not self.cnn_kernel_sizes or any(not 0 < k <= self.max_length for k in self.cnn_kernel_sizes):
            raise ValueError("`cnn_kernel_sizes` must be a non-empty list of integers in [1, max_length "
                             f"({self.max_length})], got {self.cnn_kernel_sizes!r}.")
        encoder = self.encoder_config
        positions = (encoder.get if isinstance(encoder, dict) else lambda key: getattr(encoder, key, None))(
            "max_position_embeddings")
        if isinstance(positions, int) and self.max_length > positions:
            raise ValueError(f"`max_length` ({self.max_length}) exceeds the encoder's {positions} positions; use at "
                             f"most {positions}.")
        check_encoder_size(self.encoder_config, "encoder_config")
        for name in ("lstm_dropout", "classifier_dropout"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {value!r}.")
        if self.class_weights is not None:
            weights = [float(w) for w in self.class_weights]
            if len(weights) != self.num_labels or any(w <= 0 for w in weights):
                raise ValueError(
                    f"`class_weights` must hold {self.num_labels} positive numbers (one per label), got "
                    f"{self.class_weights!r}."
                )
            self.class_weights = weights
        check_calibration(self)


HybridConfig.register_for_auto_class()

__all__ = ["HybridConfig"]
