"""Calibration, thresholds, intervals and baselines, measured (issue: numbers a researcher can trust).

    python bench/trust.py hybrid --model_dir outputs/hybrid [--shift ../shared/data/reddit_depression.csv]
    python bench/trust.py doris [--seeds 0 1 2] [--users 1000] [--cache /tmp/doris_bench_cache] [--out_of_fold]

`hybrid`: the quick-start Hybrid (trained with `depdetect train hybrid --num_epochs 2`) on its own RMHD validation
and test splits (rebuilt with the training seed and checked against metrics.json): ECE (15 equal-width bins) and
Brier before and after the temperature saved with it; each threshold rule chosen on validation with its test
precision/recall/F1 and 95% bootstrap intervals. Then the same model on a second Reddit depression corpus
(`--shift`, read latin-1, rows without a label dropped): ECE/Brier before and after, the share of positives among
posts given P > 0.9, AUPRC, and the two baselines cross-fitted (5 folds) on that corpus with the model's gain.

`doris`: default DORIS (offline annotator) fitted on each simulated RMHD cohort with `fit_doris`; on its test users,
Brier/ECE of the trees, after the saved calibration (none when validation holds < 10 depressed users) and after
Platt scaling forced on the validation users anyway; recall and precision of the uncalibrated trees at 0.5 against
each validation-chosen threshold rule, and the baselines (fitted on the training users) at 0.5.

Prints what it measured; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from depdetect.baselines import CachedEmbedder, cross_fitted_baselines, fit_baselines, gain_over_baselines
from depdetect.calibration import calibrate, fit_platt
from depdetect.metrics import binary_metrics, brier_score, expected_calibration_error
from depdetect.reporting import classification_report

ROOT = Path(__file__).resolve().parents[1]
RULES = ("0.5", "f1", "recall@0.9", "precision@0.8")


def _row(name: str, m: dict, intervals: dict | None = None) -> str:
    def cell(key):
        text = f"{m[key]:.3f}"
        if intervals and key in intervals and intervals[key][0] is not None:
            text += f" [{intervals[key][0]:.3f}, {intervals[key][1]:.3f}]"
        return text

    return f"| {name} | " + " | ".join(cell(k) for k in ("precision", "recall", "f1")) + " |"


def top_share(p: np.ndarray, y: np.ndarray, cut: float = 0.9) -> str:
    chosen = p > cut
    return f"{int(chosen.sum())} posts, {y[chosen].mean():.1%} positive" if chosen.any() else "no post"


def hybrid(args) -> None:
    from depdetect.hybrid.data import load_rmhd
    from depdetect.hybrid.predictor import load_predictor

    folder = Path(args.model_dir)
    saved = json.loads((folder / "metrics.json").read_text())
    data = load_rmhd(seed=args.seed)
    assert {k: len(v) for k, v in data.items()} == saved["num_examples"], "not the quick-start splits"
    detector = load_predictor(folder, device="cpu")
    calibration = detector.model.config.calibration

    def raw(texts):
        return np.array([o["probability"] for o in detector(list(texts), batch_size=64, explain=False,
                                                                   calibrated=False)])

    start = time.perf_counter()
    val_p, test_p = raw(data["validation"]["text"]), raw(data["test"]["text"])
    val_y, test_y = np.array(data["validation"]["label"]), np.array(data["test"]["label"])
    print(f"in-domain predictions: {time.perf_counter() - start:.0f}s; saved calibration {calibration}")
    cal = calibrate(test_p, calibration)
    print(f"RMHD test ({len(test_y)} posts, {test_y.sum()} positive): ECE "
          f"{expected_calibration_error(test_p, test_y):.4f} -> {expected_calibration_error(cal, test_y):.4f}, "
          f"Brier {brier_score(test_p, test_y):.4f} -> "
          f"{brier_score(cal, test_y):.4f}; P > 0.9: {top_share(test_p, test_y)} -> {top_share(cal, test_y)}")
    print("\n| rule (chosen on validation) | threshold | test precision | test recall | test F1 |")
    print("|---|---|---|---|---|")
    for rule in RULES:
        report = classification_report(test_y=test_y, test_raw=test_p, validation_y=val_y, validation_raw=val_p,
                                       calibration="temperature", threshold_rule=rule,
                                       resamples=args.resamples, seed=args.seed)
        row = _row(rule, report["test"], report["test_intervals"]).split(" | ", 1)[1]
        print(f"| {rule} | {report['threshold']['threshold']:.4f} | {row}")
    if not args.shift:
        return
    import pandas as pd

    frame = pd.read_csv(args.shift, encoding="latin-1").dropna(subset=["is_depression", "clean_text"])
    frame = frame[frame["clean_text"].str.strip() != ""]
    texts, y = frame["clean_text"].tolist(), frame["is_depression"].astype(int).to_numpy()
    start = time.perf_counter()
    shift_p = raw(texts)
    seconds = time.perf_counter() - start
    shift_cal = calibrate(shift_p, calibration)
    threshold = detector.model.config.decision_threshold
    print(f"\nshift corpus {Path(args.shift).name}: {len(y)} posts, {y.sum()} positive ({seconds:.0f}s to predict)")
    print(f"ECE {expected_calibration_error(shift_p, y):.4f} -> {expected_calibration_error(shift_cal, y):.4f}, "
          f"Brier {brier_score(shift_p, y):.4f} -> {brier_score(shift_cal, y):.4f}; P > 0.9: {top_share(shift_p, y)}"
          f" -> {top_share(shift_cal, y)}")
    m = binary_metrics(shift_cal, y, threshold)
    print(f"at the saved threshold {threshold:.4f}: precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
          f"F1 {m['f1']:.3f}, AUROC {m['auroc']:.3f}, AUPRC {m['auprc']:.3f}")
    start = time.perf_counter()
    baselines = cross_fitted_baselines([[t] for t in texts], y, "classification", "all", seed=args.seed)
    for name, scores in baselines.items():
        b = binary_metrics(scores, y)
        print(f"baseline {name} (5-fold cross-fitted on the shift corpus): AUROC {b['auroc']:.3f}, "
              f"AUPRC {b['auprc']:.3f}")
    gain = gain_over_baselines(shift_cal, baselines, y, "classification", args.resamples, args.seed)
    print(f"gain over {gain['better_baseline']}: {gain['gain']:+.4f} [{gain['interval'][0]:.4f}, "
          f"{gain['interval'][1]:.4f}] ({time.perf_counter() - start:.0f}s for the baselines)")


def out_of_fold(pipeline, cohort, seed: int, val_p, val_y, test_p, test_y) -> dict:
    """Calibration fitted on more users: 5-fold out-of-fold tree predictions of the training users (same features,
    same tree settings), Platt on those alone and temperature on those plus the validation users."""
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold

    from depdetect.calibration import fit_temperature
    from depdetect.doris.pipeline import _as_users

    y = np.array(cohort["train"]["label"])
    X, _ = pipeline.featurize(_as_users(cohort["train"]))
    params = dict(pipeline.config.xgboost)
    rounds = int(params.pop("n_estimators"))
    params.update({"scale_pos_weight": float((y == 0).sum() / (y == 1).sum()), "objective": "binary:logistic",
                   "seed": seed, "eta": params.pop("learning_rate")})
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
        booster = xgb.train(params, xgb.DMatrix(X[train], label=y[train]), num_boost_round=rounds)
        oof[test] = booster.predict(xgb.DMatrix(X[test]))
    platt = fit_platt(oof, y)
    temperature = fit_temperature(np.r_[oof, val_p], np.r_[y, val_y])
    return {"brier_platt_oof": brier_score(calibrate(test_p, platt), test_y),
            "brier_temperature_oof_val": brier_score(calibrate(test_p, temperature), test_y)}


def doris(args) -> None:
    from depdetect.doris.arguments import DorisArguments
    from depdetect.doris.data import rmhd_user_cohort
    from depdetect.doris.recipe import fit_doris, post_texts

    rows = []
    start = time.perf_counter()
    for seed in args.seeds:
        cohort = rmhd_user_cohort(num_users=args.users, seed=seed)
        out = Path(tempfile.mkdtemp()) / "doris"
        doris_args = DorisArguments()
        doris_args.config.seed = seed
        doris_args.run.output_dir, doris_args.run.cache_dir = str(out), args.cache
        doris_args.evaluation.bootstrap_resamples = args.resamples
        result = fit_doris(doris_args, dataset=cohort)
        pipeline = result.models["doris"]
        val_p = pipeline.predict_proba(cohort["validation"], calibrated=False)
        test_p = pipeline.predict_proba(cohort["test"], calibrated=False)
        val_y, test_y = np.array(cohort["validation"]["label"]), np.array(cohort["test"]["label"])
        row = {"seed": seed, "auprc": result.metrics["test"]["auprc"], "auroc": result.metrics["test"]["auroc"],
               "brier_before": brier_score(test_p, test_y), "ece_before": expected_calibration_error(test_p, test_y),
               "validation_positives": int(val_y.sum()), "saved_calibration": pipeline.config.calibration,
               "note": result.metrics["calibration"]["note"]}
        cal = pipeline.calibrate(test_p)
        row["brier_after"], row["ece_after"] = brier_score(cal, test_y), expected_calibration_error(cal, test_y)
        forced = fit_platt(val_p, val_y, min_examples=1)  # what Platt scaling on these few users would do
        forced_p = calibrate(test_p, forced)
        row["brier_platt_forced"], row["ece_platt_forced"] = brier_score(forced_p, test_y), \
            expected_calibration_error(forced_p, test_y)
        row["uncalibrated@0.5"] = binary_metrics(test_p, test_y, 0.5)
        for rule in RULES:
            report = classification_report(test_y=test_y, test_raw=test_p, validation_y=val_y,
                                           validation_raw=val_p, calibration="platt", threshold_rule=rule,
                                           resamples=0)
            row[rule] = {**report["test"], "threshold": report["threshold"]["decision_threshold"]}
        baselines = fit_baselines(post_texts(cohort["train"]), cohort["train"]["label"], post_texts(cohort["test"]),
                                  embedder=CachedEmbedder(pipeline.embed), seed=seed)
        for name, scores in baselines.items():
            row[name] = binary_metrics(scores, test_y, 0.5)
        row["gain"] = result.metrics["gain_over_baseline"]
        if args.out_of_fold:
            row.update(out_of_fold(pipeline, cohort, seed, val_p, val_y, test_p, test_y))
        rows.append(row)
        print(f"seed {seed}: {json.dumps(row, default=float)}", flush=True)
    print(f"\n{len(args.seeds)} cohorts of {args.users} users in {time.perf_counter() - start:.0f}s; test users, mean"
          " +- std over seeds")

    def ms(values):
        return f"{np.mean(values):.3f} +- {np.std(values):.3f}"

    for key in ("brier_before", "brier_after", "brier_platt_forced", "ece_before", "ece_after", "ece_platt_forced",
                "auroc", "auprc", "validation_positives", "brier_platt_oof", "brier_temperature_oof_val"):
        if key not in rows[0]:
            continue
        print(f"{key}: {ms([r[key] for r in rows])}")
    print("\n| decision | threshold | precision | recall | F1 |\n|---|---|---|---|---|")
    for key in ("uncalibrated@0.5", *RULES, "tfidf_logreg", "embedding_logreg"):
        ts = [r[key].get("threshold", 0.5) for r in rows]
        cells = [ms([r[key][m] for r in rows]) for m in ("precision", "recall", "f1")]
        print(f"| {key} | {ms(ts)} | " + " | ".join(cells) + " |")
    for r in rows:
        g = r["gain"]
        print(f"seed {r['seed']}: gain over {g['better_baseline']} (AUPRC {g['baseline_value']:.3f}): "
              f"{g['gain']:+.3f} [{g['interval'][0]:.3f}, {g['interval'][1]:.3f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    h = sub.add_parser("hybrid")
    h.add_argument("--model_dir", default="outputs/hybrid")
    h.add_argument("--shift", default=str(ROOT.parent / "shared" / "data" / "reddit_depression.csv"))
    h.add_argument("--seed", type=int, default=42, help="The training seed (rebuilds its splits).")
    h.add_argument("--resamples", type=int, default=1000)
    d = sub.add_parser("doris")
    d.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    d.add_argument("--users", type=int, default=1000)
    d.add_argument("--cache", default="/tmp/doris_bench_cache")
    d.add_argument("--resamples", type=int, default=1000)
    d.add_argument("--out_of_fold", action="store_true", help="Also calibrate on out-of-fold training predictions.")
    args = parser.parse_args()
    hybrid(args) if args.what == "hybrid" else doris(args)


if __name__ == "__main__":
    main()
