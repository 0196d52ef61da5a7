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
                    "--n_estimators", "20", "--k", "30", "--ablate", "ph", "--head", "trees",
                    "--output_dir", str(out)]).metrics
    assert set(metrics["test"]) >= {"precision", "recall", "f1", "auroc", "auprc"}
    assert metrics["num_users"] == {"train": 140, "validation": 20, "test": 40}
    annotation = metrics["annotation"]
    assert annotation["annotator"] == "embedding" and annotation["llm_calls"] == 0
    assert abs(annotation["train_posts_annotated"] / annotation["train_posts"] - 0.30) < 0.01
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "depdetect_run.json",
        "doris_config.json",
        "handler.py",  # Inference Endpoints' handler (needs depdetect[doris], named in requirements.txt)
        "metrics.json",
        "plots",
        "requirements.txt",
        Path(tiny_sentence_transformer).name,  # a local embedder is copied in: the folder loads on its own
        "xgboost_model.json",
    ]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["pr_curve.png", "reliability.png"]
    card = (out / "README.md").read_text()
    assert "Not a diagnostic tool" in card and "replaces the paper's LLM" in card and "SIMULATED" in card
    assert "without PH" in card
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test"]["f1"] == pytest.approx(metrics["test"]["f1"])
    assert set(saved["faithfulness"]) == {"evidence", "occlusion", "random", "settings"}
    assert "auroc" in saved["audit"]["history_shape"] and "history's shape alone" in card
    assert list((tmp_path / "doris-cache").glob("embeddings-*/embeddings.rank0.f32"))
    captured = capsys.readouterr()
    assert f"Saved the Hub-ready model folder to {out}" in captured.out
    # issue 23, finding 11: each stage is said as it starts, and embedding shows a progress bar
    assert "DORIS: fitting on 140 training users (" in captured.err and "DORIS: scoring 20 validation users" in (
        captured.err)
    assert "embedding: " in captured.err
    loaded = DorisPipeline.from_pretrained(out)
    assert loaded.config.ablate == ["ph"]
    # 20 validation users hold 1 depressed user: too few to calibrate (said in metrics.json and the card); the
    # threshold and its rule travel with the pipeline
    assert "only 1 example of class 1" in saved["calibration"]["note"] and loaded.config.calibration == {}
    assert "**Uncalibrated:**" in card and loaded.config.threshold_rule == "0.5"
    assert loaded.config.decision_threshold == pytest.approx(saved["threshold"]["decision_threshold"])
    posts = (["I can't sleep and nothing matters"], ["Great match today", "New bike"])
    test_users = [{"user_id": f"u{i}", "posts": [{"text": t, "timestamp": None} for t in texts]}
                  for i, texts in enumerate(posts)]
    raw = loaded.predict_proba(test_users, calibrated=False)
    assert loaded.predict_proba(test_users) == pytest.approx(raw)
    loaded.config.calibration = {"method": "platt", "a": 0.5, "b": -1.0}  # as a fit on more users would save
    assert loaded.predict_proba(test_users) == pytest.approx(1 / (1 + np.exp(-(0.5 * np.log(raw / (1 - raw)) - 1))))
    assert loaded.explain(test_users[0])["probability"] == pytest.approx(loaded.predict_proba(test_users)[0])
    assert saved["calibration"]["brier_after"] >= 0 and "tfidf_logreg" in saved["baselines"]
