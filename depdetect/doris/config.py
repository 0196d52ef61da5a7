"""DorisConfig: every DORIS hyper-parameter and everything fitted except the trees (those go to XGBoost JSON).

Standard library only: the command line reads these fields for its flags without importing numpy or XGBoost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..utils import read_json, write_text
from .templates import EMOTIONS, PROMPT_VERSIONS, SYMPTOMS

CONFIG_NAME = "doris_config.json"
FEATURE_PARTS = ("dc", "mc", "ph")


def _help(text: str, **extra) -> dict:
    return {"help": text, **extra}


@dataclass(kw_only=True)
class XGBoostParams:
    """The gradient-boosted trees over DORIS's features. The paper gives no tree settings; these are this
    package's, chosen for a few hundred users with 1:19 prevalence."""

    n_estimators: int = field(default=300, metadata=_help("Boosting rounds (trees)."))
    max_depth: int = field(default=4, metadata=_help("Depth of each tree."))
    learning_rate: float = field(default=0.05, metadata=_help("XGBoost's learning rate (eta)."))
    subsample: float = field(default=0.8, metadata=_help("Share of users each tree sees."))
    colsample_bytree: float = field(default=0.5, metadata=_help("Share of features each tree sees."))
    min_child_weight: float = field(default=1.0, metadata=_help("Minimum hessian weight in a leaf."))
    scale_pos_weight: str = field(default="balanced", metadata=_help(
        "Weight of the depressed class: 'balanced' (negatives/positives of the training users) or a number."))

    def __post_init__(self) -> None:
        if self.n_estimators < 1 or self.max_depth < 1:
            raise ValueError(
                f"`n_estimators` and `max_depth` must be >= 1, got {self.n_estimators}, {self.max_depth}."
            )
        if self.scale_pos_weight != "balanced":
            try:
                self.scale_pos_weight = float(self.scale_pos_weight)
            except ValueError as err:
                raise ValueError(
                    f"`scale_pos_weight` must be 'balanced' or a number, got {self.scale_pos_weight!r}."
                ) from err


def default_xgboost_params() -> dict:
    return asdict(XGBoostParams())


@dataclass
class DorisConfig:
    """DORIS (arXiv 2403.10750) settings, and everything fitted except the trees. Each field's `help` says what it
    means and where its default comes from (`depdetect train doris --help` shows the same text)."""

    k: float = field(default=20.0, metadata=_help(
        "Percent of posts, by risk (mean similarity to the 9 symptom templates), sent to the annotator (section "
        "3.2.1; the paper finds 20 close to annotating everything)."))
    m: float = field(default=30.0, metadata=_help(
        "Per emotion, percent of posts by similarity to its template kept as emotional (section 3.2.2; the paper "
        "sweeps 0-100 without naming its choice; 30 is this package's)."))
    ablate: list[str] = field(default_factory=list, metadata=_help(
        "Feature parts left out, from dc (diagnostic criteria), mc (mood course), ph (post history); the paper's "
        "Table 4."))
    symptoms: list[dict] = field(default_factory=lambda: [dict(s) for s in SYMPTOMS], metadata=_help(
        "The symptom templates (Appendix B): code, name, template."))
    emotions: list[dict] = field(default_factory=lambda: [dict(e) for e in EMOTIONS], metadata=_help(
        "The emotion templates (Appendix C): name, template."))
    embedder: str = field(default="sentence-transformers/all-MiniLM-L6-v2", metadata=_help(
        "The sentence-transformers model of posts, templates and summaries (the paper used gte-small)."))
    annotator: str = field(default="embedding", metadata=_help(
        "'embedding' (offline, no LLM), 'transformers:PATH' (a local chat model folder, Hub id or .gguf file) or "
        "'openai:BASE_URL#MODEL' (any OpenAI-compatible server)."))
    annotator_state: dict = field(default_factory=dict, metadata=_help(
        "What the annotator fitted (the embedding annotator's per-symptom thresholds)."))
    xgboost: dict = field(default_factory=default_xgboost_params, metadata=_help("XGBoostParams, as a dict."))
    head: str = field(default="auto", metadata=_help(
        "The classifier over the features: trees (the paper's gradient-boosted trees), logistic (an L2-regularised "
        "logistic regression on the standardised features, for small cohorts) or auto (the one with the higher "
        "AUPRC over 5 folds of the training users; the fitted config records the head chosen and why).",
        choices=("auto", "trees", "logistic")))
    head_selection: dict = field(default_factory=dict, metadata=_help(
        "How the head was chosen (auto): each head's cross-validated AUPRC on the training users."))
    decision_threshold: float = field(default=0.5, metadata=_help(
        "P(depression) (calibrated) at or above which a user is depressed; chosen on validation by `threshold_rule` "
        "(saved as `threshold` before depdetect 0.8; such configs still load)."))
    threshold_rule: str = field(default="0.5", metadata=_help(
        "The rule that chose `decision_threshold` (0.5, f1, recall@R, precision@P or a number)."))
    calibration: dict = field(default_factory=dict, metadata=_help(
        "Calibration of the trees' P(depression) fitted on validation ({'method': 'platt', 'a', 'b'}); empty: none."))
    seed: int = field(default=42, metadata=_help("Seed of XGBoost and of the data splits (and the simulated cohort)."))
    label_names: list[str] = field(default_factory=lambda: ["control", "depression"])
    prompt_versions: dict = field(default_factory=lambda: dict(PROMPT_VERSIONS))
    risk_cutoff: float | None = None
    emotion_cutoffs: list[float] | None = None
    feature_names: list[str] | None = None
    embedding_dim: int | None = None
    versions: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("k", "m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                raise ValueError(f"`{name}` must be a percentage in [0, 100], got {value!r}.")
        if isinstance(self.ablate, str):
            self.ablate = [p.strip() for p in self.ablate.split(",") if p.strip()]
        unknown = set(self.ablate) - set(FEATURE_PARTS)
        if unknown:
            raise ValueError(f"`ablate` takes parts from {FEATURE_PARTS}, got unknown {sorted(unknown)}.")
        if set(self.ablate) == set(FEATURE_PARTS):
            raise ValueError("`ablate` removes every feature part; keep at least one of dc, mc, ph.")
        if self.head not in ("auto", "trees", "logistic"):
            raise ValueError(f"`head` must be auto, trees or logistic, got {self.head!r}.")
        if not 0 < self.decision_threshold < 1:
            raise ValueError(f"`decision_threshold` must be in (0, 1), got {self.decision_threshold}.")
        if not self.symptoms or any("code" not in s or "name" not in s or "template" not in s for s in self.symptoms):
            raise ValueError("`symptoms` must be a non-empty list of {'code', 'name', 'template'} dicts.")
        if not self.emotions or any("name" not in e or "template" not in e for e in self.emotions):
            raise ValueError("`emotions` must be a non-empty list of {'name', 'template'} dicts.")
        if self.calibration and (self.calibration.get("method") not in ("platt", "temperature")):
            raise ValueError(
                f"`calibration` must be empty or a fitted platt/temperature dict, got {self.calibration!r}."
            )
        if len(self.label_names) != 2:
            raise ValueError(f"DORIS is binary: `label_names` needs 2 names, got {self.label_names}.")
        self._check_fitted_lengths()

    def _check_fitted_lengths(self) -> None:
        """Every fitted list has one finite number per thing it describes (no broadcasting of a short list)."""
        thresholds = (self.annotator_state or {}).get("thresholds")
        for name, values, described in (("emotion_cutoffs", self.emotion_cutoffs, "emotions"),
                                        ("annotator_state.thresholds", thresholds, "symptoms")):
            if values is None:
                continue
            count = len(getattr(self, described))
            if not isinstance(values, list) or len(values) != count or any(
                    isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or abs(v) == float("inf")
                    for v in values):
                raise ValueError(f"`{name}` must hold one finite number per entry of `{described}` ({count}), got "
                                 f"{values!r:.80}; the config was edited or damaged: copy the folder again.")
        if self.risk_cutoff is not None and (isinstance(self.risk_cutoff, bool) or not isinstance(
                self.risk_cutoff, (int, float)) or not abs(self.risk_cutoff) < float("inf")):
            raise ValueError(f"`risk_cutoff` must be a finite number, got {self.risk_cutoff!r}.")

    @property
    def fitted(self) -> bool:
        return self.risk_cutoff is not None and self.emotion_cutoffs is not None

    def to_dict(self) -> dict:
        return {"model_type": "doris", **asdict(self)}

    def to_json_file(self, path: str | Path) -> None:
        write_text(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    @classmethod
    def from_dict(cls, values: dict) -> DorisConfig:
        values = dict(values)
        if values.pop("model_type", "doris") != "doris":
            raise ValueError("This config is not a DORIS config (model_type must be 'doris').")
        if "threshold" in values and "decision_threshold" not in values:  # the name before depdetect 0.8
            values["decision_threshold"] = values.pop("threshold")
        if values.get("risk_cutoff") is not None and "head" not in values:  # fitted before depdetect 0.11: trees
            values["head"] = "trees"
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown DORIS config fields {sorted(unknown)}: saved by a newer depdetect?")
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | Path) -> DorisConfig:
        return cls.from_dict(read_json(path))
