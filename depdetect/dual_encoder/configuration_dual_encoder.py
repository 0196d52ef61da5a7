"""Configuration of the MHIM dual encoder (interview-level depression severity).

Paper: "Explainable Depression Detection using Masked Hard Instance Mining" (arXiv 2505.24609); the dual encoder
follows Lau et al. 2023 (Frontiers in Psychiatry), whose public configuration gives the defaults below.

Each field's `help` says what it means and where its default comes from; `depdetect train dual-encoder --help`
shows the same text, read from this file. This file travels to the Hub with saved models: it imports only
transformers.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

#: upper bounds of the sizes (far above any sensible value: they catch typos before memory is allocated)
MAX_SIZES = {"prefix_length": 512, "projection_size": 65536, "lstm_hidden_size": 16384, "lstm_num_layers": 32,
             "max_turn_length": 65536, "encoder_batch_size": 1 << 20}
#: upper bounds of an encoder config's size fields, each far above any published encoder (the largest have 128
#: layers, 16k hidden units, 256k-word vocabularies); any other integer field named like a size is held to the
#: largest of them. Checked field by field, then as a parameter estimate, before anything is allocated.
# Copied from depdetect.hybrid.configuration_hybrid.ENCODER_BOUNDS
ENCODER_BOUNDS = {"num_hidden_layers": 256, "num_layers": 256, "n_layer": 256, "num_attention_heads": 1024,
                  "hidden_size": 32768, "intermediate_size": 262144, "vocab_size": 2_000_000,
                  "max_position_embeddings": 1_048_576, "type_vocab_size": 4096}
#: parameters an encoder config may imply (layers x (4 hidden^2 + 2 hidden x intermediate) + embeddings)
# Copied from depdetect.hybrid.configuration_hybrid.MAX_ENCODER_PARAMETERS
MAX_ENCODER_PARAMETERS = 2e10


# Copied from depdetect.hybrid.configuration_hybrid.check_encoder_size
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


# Copied from depdetect.hybrid.configuration_hybrid.path_tail
def path_tail(name_or_path: Any) -> str:
    """A Hub id as it is; a local path by its last part (what a saved config may record about an encoder). The
    remote-code stand-in for `depdetect.utils.public_name`, which also knows the bundled encoder's path."""
    text = str(name_or_path)
    if text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text:
        return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return text


# Copied from depdetect.hybrid.configuration_hybrid.check_calibration
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


class DualEncoderConfig(PretrainedConfig):
    r"""Configuration of [`DualEncoderForDepressionScoring`]: every hyper-parameter of the model, what it was fitted
    to (the score scale) and, for an MHIM receiver, how it was trained (`mhim`).

    `num_labels` 1 regresses the severity score (MSE); 2 classifies (e.g. PHQ-8 >= 10, cross-entropy). Both
    encoders read the same token ids, so they must share a vocabulary (the default uses the same MiniLM for both).
    """

    model_type = "depdetect_dual_encoder"
    sub_configs_defaults = {
        "prefix_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert"),
        "sentence_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert"),
    }

    prefix_encoder_config: Any = field(default=None, metadata={"help": (
        "The transformer of the prefix encoder (frozen; only its P-tuning v2 prefixes train). BERT-family.")})
    sentence_encoder_config: Any = field(default=None, metadata={"help": (
        "The transformer of the sentence encoder (a sentence-transformer body: mean pooling, L2-normalised).")})
    prefix_length: int = field(default=10, metadata={"help": (
        "Trainable prefix vectors per layer (P-tuning v2; Lau et al.: pre_seq_len 10).")})
    train_sentence_encoder: bool = field(default=False, metadata={"help": (
        "Fine-tune the sentence encoder too (Lau et al. keep it frozen).")})
    projection_size: int = field(default=128, metadata={"help": (
        "Common size both turn encodings are projected to before they are averaged (Lau et al.: 128).")})
    lstm_hidden_size: int = field(default=64, metadata={"help": (
        "Hidden units per direction of the BiLSTM over turns (Lau et al.: 64).")})
    lstm_num_layers: int = field(default=1, metadata={"help": "Stacked BiLSTM layers (Lau et al.: 1)."})
    dropout: float = field(default=0.5, metadata={"help": (
        "Dropout on turn encodings, prefixes and the pooled vector (Lau et al.: 0.5).")})
    max_turn_length: int = field(default=128, metadata={
        "help": "Tokens per turn (prompt + response); longer turns are truncated, the longer part first.",
        "aliases": ["--max_length"]})
    score_threshold: float = field(default=10.0, metadata={"help": (
        "Score at or above which an interview counts as positive when labels come from scores (PHQ-8 >= 10).")})
    score_mean: float = field(default=0.0, metadata={"help": (
        "Mean of the training scores: the regression head predicts (score - mean) / std (set by training).")})
    score_std: float = field(default=1.0, metadata={"help": "Standard deviation of the training scores."})
    score_range: list[float] | None = field(default=None, metadata={"help": (
        "[lowest, highest] score of the training data (set by training): the scale the data defines, e.g. [0, 24] "
        "for PHQ-8; severity intervals are clipped to it. None (models saved before depdetect 0.9): not clipped.")})
    encoder_batch_size: int = field(default=64, metadata={"help": (
        "Turns encoded per transformer call (bounds peak memory on long interviews).")})
    length_sorted_chunks: bool = field(default=True, metadata={"help": (
        "Encode turns in chunks of similar length (sorted), so that little is padding; the same results up to "
        "float rounding.")})
    prompts: str = field(default="keep", metadata={
        "help": ("What the model reads of each turn: keep (the interviewer's prompt and the response, Lau et al.) or "
                 "drop (the response only). Models that read DAIC-WOZ prompts can score well by which questions "
                 "Ellie asks (Burdisso et al. 2024, arXiv 2404.14463); drop removes that shortcut."),
        "choices": ("keep", "drop")})
    initializer_range: float = field(default=0.02, metadata={"help": (
        "Standard deviation of the normal initialiser of the new layers.")})
    mhim: dict | None = field(default=None, metadata={"help": (
        "How an MHIM receiver was trained (mask_top, mask_bottom, teacher, ema_decay, receiver_init, epochs); "
        "none for a plain model (a donor).")})
    calibration: dict | None = field(default=None, metadata={"help": (
        "Calibration of the probabilities fitted on validation by depdetect ({'method': 'temperature', "
        "'temperature': T} or {'method': 'platt', 'a': a, 'b': b}); none: the softmax as it is.")})
    decision_threshold: float | None = field(default=None, metadata={"help": (
        "P(depression) at or above which the label is depression, chosen on validation; none: the argmax.")})
    threshold_rule: str | None = field(default=None, metadata={"help": (
        "The rule that chose `decision_threshold` (0.5, f1, recall@R, precision@P or a number).")})
    conformal: dict | None = field(default=None, metadata={"help": (
        "Split-conformal intervals of the severity score fitted on validation by depdetect: {'coverage': c, "
        "'quantile': q} gives [score - q, score + q] (q none: too few validation interviews, unbounded).")})

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
            raise ValueError("`num_labels` must be 1 (severity regression) or 2 (classification), got "
                             f"{self.num_labels}.")
        for name in ("prefix_length", "projection_size", "lstm_hidden_size", "lstm_num_layers", "max_turn_length",
                     "encoder_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
            if value > MAX_SIZES[name]:
                raise ValueError(f"`{name}` is {value}, above the {MAX_SIZES[name]} this model allows; a typo? "
                                 "(checked before any memory is allocated)")
        for name in ("prefix_encoder_config", "sentence_encoder_config"):
            check_encoder_size(getattr(self, name), name)
        if self.score_range is not None and (
                not isinstance(self.score_range, (list, tuple)) or len(self.score_range) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not abs(v) < float("inf")
                       for v in self.score_range) or not self.score_range[0] <= self.score_range[1]):
            raise ValueError(f"`score_range` must be [lowest, highest], two finite numbers, got {self.score_range!r}.")
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
                f"`max_turn_length` ({self.max_turn_length}) + `prefix_length` ({self.prefix_length}) exceeds the "
                "prefix "
                f"encoder's {self.prefix_encoder_config.max_position_embeddings} positions; use at most {limit}."
            )
        if self.prompts not in ("keep", "drop"):
            raise ValueError(f"`prompts` must be 'keep' or 'drop', got {self.prompts!r}.")
        check_calibration(self)
        if self.conformal is not None:
            quantile = self.conformal.get("quantile") if isinstance(self.conformal, dict) else "missing"
            valid = quantile is None or (isinstance(quantile, (int, float)) and quantile >= 0)
            if self.num_labels != 1 or not valid:
                raise ValueError("`conformal` needs a regression model and {'coverage': c, 'quantile': q >= 0}, got "
                                 f"{self.conformal!r}.")


DualEncoderConfig.register_for_auto_class()

__all__ = ["DualEncoderConfig"]
