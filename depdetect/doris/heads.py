"""The classifier over DORIS's features: the paper's gradient-boosted trees, or a regularised logistic regression.

DORIS (arXiv 2403.10750, section 3.3) fits gradient-boosted trees over ~1,150 features (symptom vectors, mood-course
and post-history embeddings). With a few hundred users, 30-40 of them depressed, the trees have little to learn from
(BENCHMARKS.md); a logistic regression with an L2 penalty on the standardised features is the usual alternative for
small samples. `DorisConfig.head` picks one, or `auto` lets 5-fold cross-validation on the training users choose (the
validation users are few, and they fit the calibration and threshold; the test users are never read).

Both heads are saved in the same file and format (XGBoost JSON, `xgboost_model.json`; no pickle): the logistic
regression is written as XGBoost's linear booster (`gblinear`) with the standardisation folded into its weights, so
every loader, the streaming path and the explanations read it unchanged, and its predictions equal scikit-learn's.
"""

from __future__ import annotations

import json

import numpy as np

HEADS = ("trees", "logistic")
#: inverse regularisation strengths the logistic head's inner cross-validation tries
LOGISTIC_CS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
FOLDS = 5


def positive_weight(spec, y: np.ndarray) -> float:
    return float((y == 0).sum() / max(1, (y == 1).sum())) if spec == "balanced" else float(spec)


def fit_trees(X: np.ndarray, y: np.ndarray, params: dict, seed: int, feature_names=None):
    """The paper's head: gradient-boosted trees with `params` (DorisConfig.xgboost)."""
    import xgboost as xgb

    params = dict(params)
    rounds = int(params.pop("n_estimators", 300))
    params["scale_pos_weight"] = positive_weight(params.get("scale_pos_weight", "balanced"), y)
    params.update({"objective": "binary:logistic", "eval_metric": "aucpr", "seed": seed,
                   "eta": params.pop("learning_rate", 0.05)})
    return xgb.train(params, xgb.DMatrix(X, label=y, feature_names=feature_names), num_boost_round=rounds)


def standardised_logistic(X: np.ndarray, y: np.ndarray, seed: int):
    """(the fitted LogisticRegressionCV, feature means, feature scales): L2 penalty on standardised features,
    balanced class weights, C chosen among LOGISTIC_CS by an inner stratified cross-validation on AUPRC."""
    import warnings

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    folds = min(FOLDS, int((y == 1).sum()), int((y == 0).sum()))
    model = LogisticRegressionCV(Cs=list(LOGISTIC_CS), cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                                 scoring="average_precision", class_weight="balanced", max_iter=5000)
    with warnings.catch_warnings():  # scikit-learn 1.9 announces renamed attributes; the ones read here stay
        warnings.simplefilter("ignore", FutureWarning)
        model.fit((X - mean) / scale, y)
    return model, mean, scale


def linear_booster(weights: np.ndarray, bias: float, feature_names=None):
    """An XGBoost linear booster (`gblinear`, binary:logistic) whose P(positive) is sigmoid(X @ weights + bias)."""
    import xgboost as xgb

    # a one-round linear booster on two rows gives the file's skeleton; its weights are then replaced
    skeleton = xgb.train({"booster": "gblinear", "objective": "binary:logistic"},
                         xgb.DMatrix(np.zeros((2, len(weights)), dtype=np.float32), label=[0, 1],
                                     feature_names=feature_names), num_boost_round=1)
    document = json.loads(bytes(skeleton.save_raw("json")))
    learner = document["learner"]
    learner["gradient_booster"]["model"]["weights"] = [float(w) for w in weights] + [float(bias)]
    learner["learner_model_param"]["base_score"] = "[5E-1]"  # a margin of 0: the bias carries the intercept
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(document).encode()))
    return booster


def fit_logistic(X: np.ndarray, y: np.ndarray, seed: int, feature_names=None):
    """`standardised_logistic` written as an XGBoost linear booster that predicts the same probabilities (the
    standardisation folded into the weights), and the C chosen."""
    model, mean, scale = standardised_logistic(X, y, seed)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (weights * mean).sum())
    return linear_booster(weights, bias, feature_names), float(np.ravel(model.C_)[0])


def fit_head(head: str, X: np.ndarray, y: np.ndarray, params: dict, seed: int, feature_names=None):
    """(the fitted booster, what was chosen inside it) for head 'trees' or 'logistic'."""
    if head == "trees":
        return fit_trees(X, y, params, seed, feature_names), {}
    if head == "logistic":
        booster, c = fit_logistic(X, y, seed, feature_names)
        return booster, {"C": c}
    raise ValueError(f"Unknown DORIS head {head!r}; choose one of {HEADS} or 'auto'.")


def predict_head(booster, X: np.ndarray, feature_names=None) -> np.ndarray:
    import xgboost as xgb

    return booster.predict(xgb.DMatrix(X, feature_names=feature_names)).astype(np.float64)


def choose_head(X: np.ndarray, y: np.ndarray, params: dict, seed: int) -> dict:
    """Each head's AUPRC on 5 stratified folds of the training users (refitted on the other four each time), and
    the head with the higher mean (ties: the paper's trees)."""
    from sklearn.model_selection import StratifiedKFold

    from ..metrics import binary_metrics

    folds = min(FOLDS, int((y == 1).sum()), int((y == 0).sum()))
    scores = {head: [] for head in HEADS}
    for train, held_out in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        for head in HEADS:
            booster, _ = fit_head(head, X[train], y[train], params, seed)
            scores[head].append(binary_metrics(predict_head(booster, X[held_out]), y[held_out])["auprc"])
    means = {head: float(np.mean(values)) for head, values in scores.items()}
    chosen = max(HEADS, key=lambda head: (means[head], head == "trees"))
    return {"chosen": chosen, "rule": f"mean AUPRC over {folds} stratified folds of the training users",
            "cv_auprc": means, "cv_auprc_per_fold": {h: [float(v) for v in s] for h, s in scores.items()}}
