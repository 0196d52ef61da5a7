"""DORIS's head for small cohorts (issue 25): the paper's trees, a logistic regression saved as XGBoost JSON, and the
cross-validated choice between them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost as xgb

from depdetect import DorisConfig, DorisPipeline
from depdetect.doris.heads import (
    choose_head,
    fit_head,
    fit_logistic,
    linear_booster,
    predict_head,
    standardised_logistic,
)

from .conftest import doris_config


def separable(n=120, features=12, seed=0, shift=1.5):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 4 == 0).astype(int)
    X = rng.normal(size=(n, features)) * rng.uniform(0.1, 50, size=features)  # features on very different scales
    X[:, 0] += shift * y * 10
    return X.astype(np.float32), y


def test_the_logistic_head_saved_as_xgboost_json_predicts_what_scikit_learn_predicts(tmp_path):
    X, y = separable()
    booster, c = fit_logistic(X, y, seed=0)
    reference, mean, scale = standardised_logistic(X, y, seed=0)  # the same fit, deterministic
    assert c in (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    expected = reference.predict_proba((X - mean) / scale)[:, 1]
    np.testing.assert_allclose(predict_head(booster, X), expected, atol=1e-5)
    booster.save_model(str(tmp_path / "head.json"))  # the file a DORIS folder holds, read back the usual way
    again = xgb.Booster()
    again.load_model(str(tmp_path / "head.json"))
    np.testing.assert_allclose(predict_head(again, X), predict_head(booster, X), atol=1e-7)
    saved = json.loads((tmp_path / "head.json").read_text())
    assert saved["learner"]["gradient_booster"]["name"] == "gblinear"


def test_a_linear_booster_is_the_sigmoid_of_its_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 7)).astype(np.float32)
    w, b = rng.normal(size=7), -0.7
    np.testing.assert_allclose(predict_head(linear_booster(w, b), X), 1 / (1 + np.exp(-(X @ w + b))), atol=1e-6)


def test_the_choice_is_made_on_folds_of_the_training_users_and_picks_the_better_head():
    X, y = separable(shift=0.6)  # one informative feature among noisy ones: a linear model's home ground
    chosen = choose_head(X, y, {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3}, seed=0)
    assert set(chosen["cv_auprc"]) == {"trees", "logistic"} and len(chosen["cv_auprc_per_fold"]["trees"]) == 5
    means = chosen["cv_auprc"]
    assert chosen["chosen"] == max(means, key=means.get)
    with pytest.raises(ValueError, match="Unknown DORIS head"):
        fit_head("forest", X, y, {}, seed=0)


def test_auto_records_the_head_chosen_and_a_saved_pipeline_reloads_it(tiny_embedder, cohort, tmp_path):
    pipeline = DorisPipeline(doris_config(), embedder=tiny_embedder).fit(cohort["train"])
    config = pipeline.config
    assert config.head in ("trees", "logistic") and config.head == config.head_selection["chosen"]
    expected = pipeline.predict_proba(cohort["test"])
    pipeline.save_pretrained(tmp_path / "doris")
    loaded = DorisPipeline.from_pretrained(tmp_path / "doris", embedder=tiny_embedder)
    assert loaded.config.head == config.head and loaded.config.head_selection == config.head_selection
    np.testing.assert_allclose(loaded.predict_proba(cohort["test"]), expected, atol=1e-6)


@pytest.mark.parametrize("head", ["trees", "logistic"])
def test_a_named_head_is_fitted_without_a_choice(tiny_embedder, cohort, head):
    pipeline = DorisPipeline(doris_config(head=head), embedder=tiny_embedder).fit(cohort["train"])
    assert pipeline.config.head == head and "chosen" not in pipeline.config.head_selection
    name = pipeline.booster.save_raw("json")
    assert (b"gblinear" in bytes(name)) is (head == "logistic")
    assert ("C" in pipeline.config.head_selection) is (head == "logistic")


def test_configs_fitted_before_heads_existed_load_as_trees_and_a_bad_head_is_refused():
    old = DorisConfig().to_dict()
    del old["head"], old["head_selection"]
    assert DorisConfig.from_dict({**old, "risk_cutoff": 0.3, "emotion_cutoffs": [0.1] * 5}).head == "trees"
    assert DorisConfig.from_dict(old).head == "auto"  # not fitted: a new fit chooses
    with pytest.raises(ValueError, match="auto, trees or logistic"):
        DorisConfig(head="forest")


def test_train_doris_reports_the_head_chosen_in_metrics_and_card(tiny_sentence_transformer, tmp_path):
    from depdetect.cli import main

    out = tmp_path / "doris"
    metrics = main(["train", "doris", "--encoder", tiny_sentence_transformer, "--cohort_users", "200",
                    "--n_estimators", "20", "--output_dir", str(out), "--no_faithfulness", "--no_audit",
                    "--baselines", "none", "--no_plots"]).metrics
    config = json.loads((out / "doris_config.json").read_text())
    assert config["head"] in ("trees", "logistic") and config["head_selection"]["chosen"] == config["head"]
    card = (out / "README.md").read_text()
    scores = config["head_selection"]["cv_auprc"]
    assert f"by mean AUPRC over 5 stratified folds of the training users (trees {scores['trees']:.3f}, " in card
    assert f"(head chosen: {config['head']})" in metrics["card"]["training_description"]
