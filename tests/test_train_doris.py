"""`train.py --model doris`: trains, evaluates and saves a folder with a card; refuses flags of other models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depdetect import DorisPipeline
from depdetect.cli import main


def test_train_doris_on_the_simulated_cohort_writes_a_complete_folder(tiny_sentence_transformer, tmp_path, capsys):
    out = tmp_path / "doris"
    metrics = main(["train", "doris", "--encoder", tiny_sentence_transformer, "--cohort_users", "200",
                    "--n_estimators", "20", "--k", "30", "--ablate", "ph", "--output_dir", str(out)]).metrics
    assert set(metrics["test"]) >= {"precision", "recall", "f1", "auroc", "auprc"}
    assert metrics["num_users"] == {"train": 140, "validation": 20, "test": 40}
    annotation = metrics["annotation"]
    assert annotation["annotator"] == "embedding" and annotation["llm_calls"] == 0
    assert abs(annotation["train_posts_annotated"] / annotation["train_posts"] - 0.30) < 0.01
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "depdetect_run.json",
        "doris_config.json",
        "metrics.json",
        "plots",
        Path(tiny_sentence_transformer).name,  # a local embedder is copied in: the folder loads on its own
        "xgboost_model.json",
    ]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["pr_curve.png", "reliability.png"]
    card = (out / "README.md").read_text()
    assert "Not a diagnostic tool" in card and "replaces the paper's LLM" in card and "SIMULATED" in card
    assert "without PH" in card
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test"]["f1"] == pytest.approx(metrics["test"]["f1"])
    assert list((tmp_path / "doris-cache").glob("embeddings-*/embeddings.rank0.f32"))
    assert f"Saved the Hub-ready model folder to {out}" in capsys.readouterr().out
    loaded = DorisPipeline.from_pretrained(out)
    assert loaded.config.ablate == ["ph"]
    # Platt scaling and the F1 threshold were fitted on the validation users and travel with the pipeline
    assert loaded.config.calibration["method"] == "platt" and loaded.config.threshold_rule == "f1"
    assert loaded.config.threshold == pytest.approx(saved["threshold"]["threshold"])
    posts = (["I can't sleep and nothing matters"], ["Great match today", "New bike"])
    test_users = [{"user_id": f"u{i}", "posts": [{"text": t, "timestamp": None} for t in texts]}
                  for i, texts in enumerate(posts)]
    raw = loaded.predict_proba(test_users, calibrated=False)
    assert loaded.predict_proba(test_users) == pytest.approx(loaded.calibrate(raw))
    assert not np.allclose(loaded.predict_proba(test_users), raw)
    assert saved["calibration"]["brier_after"] >= 0 and "tfidf_logreg" in saved["baselines"]
