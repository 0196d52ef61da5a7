"""DorisConfig: every DORIS hyper-parameter and everything fitted except the trees (those go to XGBoost JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .templates import EMOTIONS, PROMPT_VERSIONS, SYMPTOMS

CONFIG_NAME = "doris_config.json"
FEATURE_PARTS = ("dc", "mc", "ph")


def default_xgboost_params() -> dict:
    return {
        "n_estimators": 300,
        "max_depth": 4,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "min_child_weight": 1.0,
        "scale_pos_weight": "balanced",
    }


@dataclass
class DorisConfig:
    """DORIS (arXiv 2403.10750) settings.

    Args:
        k: percent of posts, by risk (mean similarity to the 9 symptom templates), sent to the annotator
            (section 3.2.1; the paper finds 20 close to annotating everything). 0-100.
        m: per emotion, percent of posts by similarity to its template kept as emotional (section 3.2.2). 0-100;
            the paper sweeps 0-100 without naming its choice; 30 is this package's default.
        ablate: feature parts left out, from "dc" (diagnostic criteria), "mc" (mood course), "ph" (post history)
            (the paper's Table 4).
        symptoms / emotions: the templates (Appendices B and C); `code`/`name` for symptoms, `name` for emotions.
        embedder: identifier of the sentence-transformers model (the paper used gte-small).
        annotator: "embedding", "transformers:PATH" or "openai:BASE_URL#MODEL".
        annotator_state: what the annotator fitted (the embedding annotator's per-symptom thresholds).
        xgboost: XGBoost parameters; `scale_pos_weight` "balanced" means negatives/positives of the training set.
        threshold: probability at or above which a user is predicted depressed.
        seed: XGBoost's seed.
        risk_cutoff / emotion_cutoffs: the top-k% / top-m% similarity cut-offs, fitted on the training posts and
            reused for every later user (None until `fit`).
    """

    k: float = 20.0
    m: float = 30.0
    ablate: list[str] = field(default_factory=list)
    symptoms: list[dict] = field(default_factory=lambda: [dict(s) for s in SYMPTOMS])
    emotions: list[dict] = field(default_factory=lambda: [dict(e) for e in EMOTIONS])
    embedder: str = "sentence-transformers/all-MiniLM-L6-v2"
    annotator: str = "embedding"
    annotator_state: dict = field(default_factory=dict)
    xgboost: dict = field(default_factory=default_xgboost_params)
    threshold: float = 0.5
    seed: int = 42
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
        if not 0 < self.threshold < 1:
            raise ValueError(f"`threshold` must be in (0, 1), got {self.threshold}.")
        if not self.symptoms or any("code" not in s or "name" not in s or "template" not in s for s in self.symptoms):
            raise ValueError("`symptoms` must be a non-empty list of {'code', 'name', 'template'} dicts.")
        if not self.emotions or any("name" not in e or "template" not in e for e in self.emotions):
            raise ValueError("`emotions` must be a non-empty list of {'name', 'template'} dicts.")
        if len(self.label_names) != 2:
            raise ValueError(f"DORIS is binary: `label_names` needs 2 names, got {self.label_names}.")

    @property
    def fitted(self) -> bool:
        return self.risk_cutoff is not None and self.emotion_cutoffs is not None

    def to_dict(self) -> dict:
        return {"model_type": "doris", **asdict(self)}

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, values: dict) -> DorisConfig:
        values = dict(values)
        if values.pop("model_type", "doris") != "doris":
            raise ValueError("This config is not a DORIS config (model_type must be 'doris').")
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown DORIS config fields {sorted(unknown)}: saved by a newer depdetect?")
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | Path) -> DorisConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
