"""Numbers a researcher can trust: calibration, thresholds, conformal intervals, bootstrap intervals, baselines,
subgroups and plots, checked on hand-computed cases and end to end through training, saving and evaluation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from depdetect.arguments import EvaluationArguments, parse_threshold_rule
from depdetect.baselines import cross_fitted_baselines, fit_baselines, gain_over_baselines
from depdetect.calibration import (
    apply_platt,
    apply_temperature,
    calibrate,
    choose_threshold,
    conformal_quantile,
    fit_platt,
    fit_temperature,
)
from depdetect.cards import trust_section
from depdetect.metrics import (
    binary_metrics,
    bootstrap_intervals,
    brier_score,
    classification_metrics,
    expected_calibration_error,
    interval_coverage,
    mean_interval,
    reliability_bins,
)
from depdetect.reporting import classification_report, read_groups, regression_report, subgroup_report

from .test_remote_code import HIDE_REPO

# -- metrics on hand-computed cases -------------------------------------------------------------------------------


def test_ece_and_brier_match_hand_computation():
    p, y = [0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]
    # bin of 0.9: mean 0.9, observed 0.5 -> 0.4 x 2; bin of 0.1: observed 0 -> 0.1 x 2; (0.8 + 0.2) / 4
    assert expected_calibration_error(p, y) == pytest.approx(0.25)
    assert brier_score(p, y) == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    # equal mass with 2 bins: {0.1, 0.1} -> |0.1 - 0|, {0.9, 0.9} -> |0.9 - 0.5|: the same 0.25
    assert expected_calibration_error(p, y, bins=2, strategy="mass") == pytest.approx(0.25)
    # equal width puts 0.95 and 0.99 in the last of 15 bins, and 1.0 too (not in a 16th)
    rows = reliability_bins([0.95, 0.99, 1.0, 0.0], [1, 1, 1, 0])
    assert [(r["bin"], r["count"]) for r in rows] == [(0, 1), (14, 3)]
    assert expected_calibration_error([0.0, 1.0], [0, 1]) == 0.0


def test_calibration_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="binary labels"):
        brier_score([0.5], [2])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        expected_calibration_error([1.5], [1])
    with pytest.raises(ValueError, match="strategy"):
        expected_calibration_error([0.5], [1], strategy="quantile")


def test_interval_coverage_matches_hand_computation():
    out = interval_coverage([0.0, 1.0, 2.0], [2.0, 3.0, 2.0], [2.0, 5.0, 2.0])  # bounds count as inside
    assert out == {"coverage": pytest.approx(2 / 3), "mean_width": pytest.approx(4 / 3)}
    with pytest.raises(ValueError, match="low <= high"):
        interval_coverage([1.0], [0.0], [0.5])


def test_mean_interval_is_the_student_t_interval():
    low, high = mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) x sd 1 / sqrt(3)
    assert (low, high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert all(math.isnan(v) for v in mean_interval([1.0]))


def test_fast_binary_metrics_equal_the_reported_ones():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = (rng.random(60) < 0.3).astype(int)
        p = np.round(rng.random(60), 1)  # ties
        fast = binary_metrics(p, y, 0.4)
        slow = classification_metrics(np.stack([1 - p, p], axis=1), y, threshold=0.4)
        assert fast == pytest.approx(slow)


def test_bootstrap_intervals_are_seeded_and_cover_the_mean():
    values = np.random.default_rng(1).normal(5.0, 1.0, 200)

    def score(index):
        return {"mean": values[index].mean()}

    first = bootstrap_intervals(score, values.size, resamples=500, seed=3)
    assert first == bootstrap_intervals(score, values.size, resamples=500, seed=3)
    low, high = first["mean"]
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 / math.sqrt(200), rel=0.25)  # the normal-theory width
    constant = bootstrap_intervals(lambda index: {"x": 1.0}, 10, resamples=50)
    assert constant["x"] == [1.0, 1.0]
    undefined = bootstrap_intervals(lambda index: {"x": math.nan}, 10, resamples=50)
    assert all(math.isnan(v) for v in undefined["x"])


# -- calibration, thresholds, conformal -------------------------------------------------------------------------


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(true_p.size) < true_p).astype(int)
    overconfident = apply_temperature(true_p, 0.5)  # logits doubled
    fitted = fit_temperature(overconfident, y)
    assert fitted["temperature"] == pytest.approx(2.0, rel=0.05) and fitted["note"] is None
    assert expected_calibration_error(apply_temperature(overconfident, fitted["temperature"]), y) < \
        expected_calibration_error(overconfident, y)
    # (N, 2) probabilities give the same temperature, and T leaves the 0.5 decision alone
    assert fit_temperature(np.stack([1 - overconfident, overconfident], 1), y)["temperature"] == pytest.approx(
        fitted["temperature"], rel=1e-3)
    assert ((apply_temperature(overconfident, 3.0) >= 0.5) == (overconfident >= 0.5)).all()


def test_platt_scaling_recovers_known_parameters_and_keeps_the_order():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.01, 0.99, 20000)
    y = (rng.random(raw.size) < apply_platt(raw, 0.7, -1.5)).astype(int)
    fitted = fit_platt(raw, y)
    assert fitted["a"] == pytest.approx(0.7, abs=0.05) and fitted["b"] == pytest.approx(-1.5, abs=0.1)
    calibrated = calibrate(raw, fitted)
    assert (np.diff(calibrated[np.argsort(raw)]) >= 0).all()  # monotone: AUROC/AUPRC unchanged
    assert brier_score(calibrated, y) < brier_score(raw, y)


def test_one_class_validation_cannot_be_calibrated_and_says_so():
    for fit in (fit_temperature, fit_platt):
        fitted = fit(np.array([0.2, 0.7, 0.9]), np.array([1, 1, 1]))
        assert "single class" in fitted["note"]
    with pytest.warns(UserWarning, match="single class"):
        report = classification_report(test_y=[0, 1, 0, 1], test_raw=[0.1, 0.8, 0.3, 0.6], validation_y=[0, 0, 0],
                                       validation_raw=[0.1, 0.2, 0.3], calibration="temperature",
                                       threshold_rule="f1", resamples=0)
    assert report["saved_calibration"] is None and "single class" in report["calibration"]["note"]
    assert report["threshold"]["decision_threshold"] == 0.5 and report["threshold"]["note"]
    card = trust_section({**report, "test": report["test"]}, "texts")
    assert "**Uncalibrated:** the validation split holds a single class" in card


def test_a_card_reads_the_threshold_record_of_metrics_saved_before_0_8():
    old = {"calibration": None, "threshold": {"threshold": 0.3125, "rule": "f1", "note": None,
                                              "chosen_on": "chosen on the validation split"}}
    new = {"calibration": None, "threshold": {"decision_threshold": 0.3125, "threshold_rule": "f1", "note": None,
                                              "chosen_on": "chosen on the validation split"}}
    assert "P(depression) >= 0.3125 (rule `f1`, chosen on the validation split)" in trust_section(old, "texts")
    assert trust_section(old, "texts") == trust_section(new, "texts")


def test_a_warning_about_the_validation_split_is_one_line_naming_no_other_system():
    import warnings

    rng = np.random.default_rng(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classification_report(test_y=[0, 1, 0, 1], test_raw=[0.1, 0.8, 0.3, 0.6], validation_y=[0] * 30 + [1] * 3,
                              validation_raw=rng.random(33), calibration="temperature", threshold_rule="0.5",
                              resamples=0)
    shown = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught]
    assert shown and all(line.count("\n") == 1 for line in shown), shown  # the message alone, no source line
    assert "only 3 examples of class 1" in shown[0] and "DORIS" not in shown[0]


def test_too_few_validation_positives_are_not_calibrated_by_default():
    rng = np.random.default_rng(0)
    p = rng.random(200)
    y = np.zeros(200, dtype=int)
    y[:5] = 1  # 5 positives, as in a 100-user DORIS validation split at 1:19
    for fit in (fit_temperature, fit_platt):
        assert "only 5 examples of class 1 (fewer than 10)" in fit(p, y)["note"]
        assert fit(p, y, min_examples=5)["note"] is None


def test_threshold_rules_on_a_hand_computed_case():
    p = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]
    y = [1, 0, 1, 1, 0, 0]
    # at 0.9: P 1, R 1/3 (F1 .5); 0.8: .5, 1/3; 0.7: 2/3, 2/3; 0.6: .75, 1 (F1 .857); 0.2: .6, 1; 0.1: .5, 1
    assert choose_threshold(p, y, "f1")["decision_threshold"] == 0.6
    # the highest threshold reaching recall 0.6; the lowest keeping precision 0.7
    assert choose_threshold(p, y, "recall@0.6")["decision_threshold"] == 0.7
    assert choose_threshold(p, y, "precision@0.7")["decision_threshold"] == 0.6
    assert choose_threshold(p, y, "precision@0.99")["decision_threshold"] == 0.9
    assert choose_threshold(p, y, "0.5") == {"threshold_rule": "0.5", "decision_threshold": 0.5, "note": None}
    unreachable = choose_threshold([0.9, 0.1], [0, 1], "precision@0.8")
    assert unreachable["decision_threshold"] == 0.5 and "no threshold reaches precision 0.8" in unreachable["note"]
    assert choose_threshold([1.0, 0.0], [1, 0], "f1")["decision_threshold"] < 1  # configs need (0, 1)


@pytest.mark.parametrize("rule, message", [("recall@1.5", "after '@'"), ("best", "must be one of"),
                                           ("0", "fixed threshold"), ("precision@", "must be one of")])
def test_bad_threshold_rules_say_what_is_allowed(rule, message):
    with pytest.raises(ValueError, match=message):
        parse_threshold_rule(rule)
    with pytest.raises(ValueError, match=message):
        EvaluationArguments(threshold_rule=rule)


def test_conformal_quantile_rank_and_too_few_residuals():
    residuals = np.arange(1.0, 10.0)  # 9 residuals: rank ceil(10 x 0.9) = 9
    out = conformal_quantile(residuals, np.zeros(9), 0.9)
    assert out["quantile"] == 9.0 and out["calibration_size"] == 9
    with pytest.warns(UserWarning, match="at least 9 needed"):
        few = conformal_quantile(np.ones(5), np.zeros(5), 0.9)
    assert few["quantile"] is None


def test_split_conformal_intervals_reach_their_coverage_on_exchangeable_data():
    rng = np.random.default_rng(2)
    coverages = []
    for _ in range(200):
        truth = rng.normal(10, 4, 150)
        predicted = truth + rng.standard_t(3, 150)  # heavy-tailed errors: no normality assumed
        q = conformal_quantile(predicted[:50], truth[:50], 0.9)["quantile"]
        coverages.append(interval_coverage(predicted[50:] - q, predicted[50:] + q, truth[50:])["coverage"])
    assert 0.89 <= float(np.mean(coverages)) <= 0.93  # >= 0.9 in expectation, at most 0.9 + 1/51


# -- baselines, gain, subgroups ---------------------------------------------------------------------------------


def test_tfidf_baseline_learns_words_and_the_gain_has_a_paired_interval():
    rng = np.random.default_rng(0)
    words = {1: ["hopeless", "empty", "tired"], 0: ["garden", "match", "recipe"]}
    y = (rng.random(120) < 0.4).astype(int)
    docs = [[f"today {rng.choice(words[int(label)])} again"] for label in y]
    scores = fit_baselines(docs[:80], y[:80], docs[80:], which="tfidf")
    assert set(scores) == {"tfidf_logreg"}
    assert binary_metrics(scores["tfidf_logreg"], y[80:])["auprc"] == 1.0
    random_system = rng.random(40)
    gain = gain_over_baselines(random_system, scores, y[80:], "classification", resamples=300)
    assert gain["better_baseline"] == "tfidf_logreg" and gain["gain"] < 0
    assert gain["interval"][1] < 0 and gain["significant"]
    assert gain_over_baselines(random_system, {}, y[80:], "classification") is None
    folds = cross_fitted_baselines(docs, y, which="tfidf", folds=5)
    assert not np.isnan(folds["tfidf_logreg"]).any() and binary_metrics(folds["tfidf_logreg"], y)["auroc"] > 0.95


def test_regression_baselines_and_gain_in_rmse():
    rng = np.random.default_rng(0)
    severity = rng.integers(0, 25, 90).astype(float)
    docs = [["low"] * int(s) + ["fine"] * (25 - int(s)) for s in severity]
    scores = fit_baselines(docs[:60], severity[:60], docs[60:], task="regression", which="tfidf")
    report = regression_report(test_y=severity[60:], test_pred=severity[60:] + 0.1, conformal={},
                               baseline_scores=scores, resamples=200)
    assert report["conformal"] is None and "coverage" not in report["test"]
    gain = report["gain_over_baseline"]
    assert gain["metric"] == "rmse" and gain["gain"] == pytest.approx(gain["baseline_value"] - 0.1)


def test_subgroups_report_gaps_and_flag_small_groups():
    y = np.array([1] * 12 + [0] * 12 + [1] * 12 + [0] * 12 + [1, 0])
    p = np.r_[np.full(12, 0.9), np.full(12, 0.1), np.full(12, 0.4), np.full(12, 0.1), [0.9, 0.1]]
    groups = ["a"] * 24 + ["b"] * 24 + [None, "c"]
    out = subgroup_report(groups, y, p, "classification", 0.5)
    assert out["groups"]["a"]["metrics"]["recall"] == 1.0 and out["groups"]["b"]["metrics"]["recall"] == 0.0
    assert out["small_groups"] == ["(missing)", "c"] and out["groups"]["c"]["positives"] == 0
    assert out["gaps"]["recall"] == {"gap": 1.0, "highest": "a", "lowest": "b"}
    assert out["largest_gap"]["gap"] == 1.0


def test_a_missing_group_column_is_a_clear_error():
    with pytest.raises(ValueError, match="group column 'gender' is missing or empty"):
        read_groups([None, float("nan"), " "], "gender")


# -- end to end -----------------------------------------------------------------------------------------------


def train_args(encoder, files, out, *extra):
    return ["train", "hybrid", "--encoder", encoder, "--train_file", files["train"],
            "--validation_file", files["validation"], "--test_file", files["test"], "--output_dir", str(out),
            "--batch_size", "4", "--eval_batch_size", "8", "--max_length", "48", "--lstm_hidden_size", "8",
            "--cnn_num_filters", "4", "--fc_hidden_size", "16", "--show_examples", "0", "--num_epochs", "1",
            "--checkpointing_steps", "0", *extra]


@pytest.fixture(scope="module")
def grouped_files(tmp_path_factory, posts_files):
    """The posts files with a `source` column: two groups in every split."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("grouped")
    out = {}
    for split, path in posts_files.items():
        frame = pd.read_csv(path)
        frame["source"] = ["forum" if i % 2 else "app" for i in range(len(frame))]
        out[split] = str(folder / f"{split}.csv")
        frame.to_csv(out[split], index=False)
    return out


@pytest.fixture(scope="module")
def calibrated_hybrid(tmp_path_factory, tiny_encoder_dir, grouped_files):
    from depdetect.cli import main

    out = tmp_path_factory.mktemp("calibrated") / "run"
    result = main(train_args(tiny_encoder_dir, grouped_files, out, "--threshold", "f1", "--group_column", "source",
                             "--bootstrap_resamples", "200", "--baselines", "tfidf",
                             "--calibration_min_examples", "1"))  # 8 validation posts: too few by default
    return out, result.metrics


def test_training_saves_calibration_threshold_intervals_baselines_groups_and_plots(calibrated_hybrid):
    out, metrics = calibrated_hybrid
    config = json.loads((out / "config.json").read_text())
    assert config["calibration"]["method"] == "temperature" and config["calibration"]["temperature"] > 0
    assert config["threshold_rule"] == "f1"
    assert config["decision_threshold"] == metrics["threshold"]["decision_threshold"]
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved["test_intervals"]) == set(saved["test"])
    for key, (low, high) in saved["test_intervals"].items():
        assert 0 <= low <= high <= 1, key
    assert saved["calibration"]["ece_before"] >= 0 and saved["calibration"]["brier_after"] >= 0
    assert set(saved["baselines"]) == {"tfidf_logreg"} and saved["gain_over_baseline"]["metric"] == "auprc"
    assert set(saved["subgroups"]["groups"]) == {"app", "forum"}
    assert saved["plots"] == ["plots/pr_curve.png", "plots/reliability.png"]
    for name in saved["plots"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (out / "README.md").read_text()
    assert "| auprc |" in card and "95% interval" in card and "Calibration does not travel" in card
    assert "What this model adds over a simple baseline" in card and "Gain over the better baseline" in card
    assert "### Factors (subgroups)" in card and "| app (small) |" in card
    assert "![Reliability diagram before and after calibration (test)](plots/reliability.png)" in card


def test_the_pipeline_returns_the_calibrated_probabilities_the_metrics_were_computed_on(calibrated_hybrid,
                                                                                        grouped_files):
    import pandas as pd

    from depdetect.hybrid.predictor import load_predictor

    out, metrics = calibrated_hybrid
    detector = load_predictor(out)
    texts = pd.read_csv(grouped_files["test"])["text"].tolist()
    calibrated = detector(texts, explain=False, return_uncalibrated=True)
    raw = detector(texts, explain=False, calibrated=False)
    config = detector.model.config
    for c, r in zip(calibrated, raw):
        assert c["probability"] == pytest.approx(float(apply_temperature(np.array([c["uncalibrated_probability"]]),
                                                                         config.calibration["temperature"])[0]),
                                                 abs=1e-6)
        assert r["probability"] == pytest.approx(c["uncalibrated_probability"], abs=1e-7)
        assert c["label"] == r["label"] == ("depression" if c["probability"] >= config.decision_threshold
                                            else "control")
    y = pd.read_csv(grouped_files["test"])["label"].to_numpy()
    again = binary_metrics([c["probability"] for c in calibrated], y, config.decision_threshold)
    assert again == pytest.approx(metrics["test"], abs=1e-6)


FRESH_CALIBRATED = HIDE_REPO + """
import json, sys
from transformers import pipeline
detect = pipeline("depression-detection", model=sys.argv[1], trust_remote_code=True)
out = detect(json.loads(sys.argv[2]), explain=False, return_uncalibrated=True)
print("RESULT " + json.dumps({"out": out, "depdetect": [m for m in sys.modules if m.startswith("depdetect")]}))
"""


def test_a_calibrated_model_gives_the_same_calibrated_probabilities_in_a_fresh_process_without_depdetect(
    calibrated_hybrid, tmp_path
):
    from depdetect.hybrid.predictor import load_predictor
    from tests.test_remote_code import fresh_process

    out, _ = calibrated_hybrid
    texts = ["I feel lost and hopeless", "We bought a new car for the school run"]
    result = fresh_process(FRESH_CALIBRATED, tmp_path, str(out), json.dumps(texts))
    assert result["depdetect"] == []
    local = load_predictor(out)(texts, explain=False, return_uncalibrated=True)
    for remote, mine in zip(result["out"], local):
        assert remote["probability"] == pytest.approx(mine["probability"], abs=1e-6)
        assert remote["label"] == mine["label"]
        assert remote["probability"] != pytest.approx(remote["uncalibrated_probability"], abs=1e-9)


def test_models_saved_before_calibration_load_with_identity_calibration():
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification
    from tests.test_remote_code import OLD_LAYOUT

    model = HybridForSequenceClassification.from_pretrained(OLD_LAYOUT / "hybrid").eval()
    assert model.config.calibration is None and model.config.decision_threshold is None
    detector = DepressionDetectionPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(OLD_LAYOUT / "hybrid"))
    out = detector("I feel lost and hopeless", explain=False, return_uncalibrated=True)
    assert out["probability"] == out["uncalibrated_probability"]


def test_evaluate_reports_intervals_calibration_groups_baselines_and_writes_plots(calibrated_hybrid, grouped_files,
                                                                                   tmp_path, capsys):
    from depdetect.cli import main

    out, metrics = calibrated_hybrid
    target = tmp_path / "eval.json"
    result = main(["evaluate", str(out), grouped_files["test"], "-o", str(target), "--group_column", "source",
                   "--bootstrap_resamples", "100", "--baselines", "tfidf"])
    report = result["report"]
    assert report["threshold"]["threshold_rule"] == "f1" and report["threshold"]["chosen_on"] == "saved with the model"
    assert report["test"]["f1"] == pytest.approx(metrics["test"]["f1"])  # the saved threshold decides
    assert report["calibration"]["ece_after"] == pytest.approx(metrics["calibration"]["ece_after"], abs=1e-6)
    assert set(report["subgroups"]["groups"]) == {"app", "forum"}
    assert report["baselines"]["tfidf_logreg"]["test"]["auprc"] >= 0
    assert sorted(p.rsplit("/", 1)[-1] for p in result["plots"]) == ["pr_curve.png", "reliability.png"]
    assert (tmp_path / "eval_plots" / "pr_curve.png").is_file()
    printed = capsys.readouterr().out
    assert "95% interval (bootstrap)" in printed and "gain over the better baseline" in printed
    with pytest.raises(SystemExit):
        main(["evaluate", str(out), grouped_files["test"], "-o", str(tmp_path / "x.json"),
              "--group_column", "gender", "--baselines", "none", "--no_plots"])
    assert "The group column 'gender' is missing or empty in every evaluated record" in capsys.readouterr().err


def test_a_group_column_missing_from_training_data_names_the_column(tiny_encoder_dir, posts_files, tmp_path,
                                                                    capsys):
    from depdetect.cli import main

    with pytest.raises(SystemExit):
        main(train_args(tiny_encoder_dir, posts_files, tmp_path / "run", "--group_column", "gender"))
    assert "no value in the group column 'gender'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_dual_encoder_regression_saves_conformal_intervals_and_the_pipeline_returns_them(tiny_encoder_dir,
                                                                                         esconv_file, tmp_path):
    from depdetect.cli import main
    from depdetect.corpora import esconv
    from depdetect.dual_encoder.predictor import load_predictor

    out, data = tmp_path / "de", tmp_path / "esconv.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in esconv.load_esconv(esconv_file)))
    result = main(["train", "dual-encoder", "--train_file", str(data), "--encoder",
                   tiny_encoder_dir, "--output_dir", str(out), "--num_epochs", "1", "--batch_size", "4",
                   "--max_turn_length", "32", "--prefix_length", "2", "--projection_size", "8",
                   "--lstm_hidden_size", "4", "--checkpointing_steps", "0", "--coverage", "0.5",
                   "--bootstrap_resamples", "50", "--baselines", "tfidf"])
    donor = result.metrics["donor"]
    config = json.loads((out / "donor" / "config.json").read_text())
    assert config["conformal"]["coverage"] == 0.5 and config["conformal"]["quantile"] > 0
    assert donor["conformal"]["quantile"] == config["conformal"]["quantile"]
    assert 0 <= donor["test"]["coverage"] <= 1 and donor["test"]["interval_width"] == pytest.approx(
        2 * config["conformal"]["quantile"])
    assert (out / "donor" / "plots" / "severity.png").is_file()
    scorer = load_predictor(out / "donor")
    turns = [{"prompt": "How are you?", "response": "I can't sleep and nothing helps."}]
    scored = scorer(turns)
    low, high = scored["interval"]
    assert high - low == pytest.approx(2 * config["conformal"]["quantile"]) and low < scored["severity"] < high
    assert "split-conformal intervals" in (out / "donor" / "README.md").read_text()


def test_a_config_with_a_malformed_calibration_is_refused():
    from depdetect.hybrid.configuration_hybrid import HybridConfig

    with pytest.raises(ValueError, match="calibration"):
        HybridConfig(calibration={"method": "temperature", "temperature": -1})
    with pytest.raises(ValueError, match="decision_threshold"):
        HybridConfig(decision_threshold=1.5)
    assert HybridConfig(calibration={"method": "platt", "a": 1.0, "b": 0.0}).calibration["method"] == "platt"


def test_torch_and_numpy_calibration_agree():
    from depdetect.hybrid.pipeline_hybrid import calibrate_probabilities

    p = np.array([0.03, 0.4, 0.5, 0.97])
    for calibration in ({"method": "temperature", "temperature": 1.7}, {"method": "platt", "a": 0.8, "b": -1.2}):
        torch_p = calibrate_probabilities(torch.tensor(np.stack([1 - p, p], 1)), calibration)[:, 1].numpy()
        assert torch_p == pytest.approx(calibrate(p, calibration), abs=1e-9)


def test_the_pipeline_reads_a_datasets_column_or_a_series_as_a_list(tiny_model, tokenizer):
    import pandas as pd
    from datasets import Dataset

    from depdetect import DepressionDetectionPipeline

    detector = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)
    texts = ["I feel lost and hopeless", "Nice match today"]
    expected = detector(texts, explain=False)
    assert detector(Dataset.from_dict({"text": texts})["text"], explain=False) == expected
    assert detector(pd.Series(texts), explain=False) == expected
    with pytest.raises(ValueError, match=r"inputs\[1\] is (None|missing \(NaN\)); expected a non-empty string"):
        detector(pd.Series(["ok", None]))


def test_classification_targets_come_from_labels_or_scores_and_one_class_is_refused():
    from datasets import Dataset

    from depdetect.dual_encoder.arguments import DualEncoderArguments, DualEncoderModelArguments
    from depdetect.dual_encoder.recipe import check_trainable, interview_targets

    args = DualEncoderArguments(model=DualEncoderModelArguments(num_labels=2), config={"score_threshold": 10.0})
    split = Dataset.from_dict({"score": [3.0, 12.0, 15.0], "label": [-1, -1, 0]})
    assert interview_targets(split, args).tolist() == [0, 1, 0]  # a given label wins over the score
    check_trainable(split, args)
    with pytest.raises(ValueError, match="The training interviews"):
        check_trainable(Dataset.from_dict({"score": [3.0, 4.0], "label": [-1, -1]}), args)
