"""The plots people look at, as PNG bytes (matplotlib's object API: headless, no pyplot state, no display needed).

* `pr_curve`: precision-recall curve of the system (and the baselines), the chosen threshold marked.
* `reliability`: reliability diagram of P(positive) before and after calibration (15 equal-width bins).
* `severity`: the dual encoder's predicted vs true scores with their conformal intervals.

`classification_plots` / `regression_plots` return {file name: PNG bytes}; the recipes write them under `plots/`
of the output folder and the card links them.
"""

from __future__ import annotations

import io

import numpy as np

from .metrics import ECE_BINS, reliability_bins

PLOTS_DIR = "plots"


def _figure(width: float = 5.0, height: float = 4.2):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return figure, figure.add_subplot()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def pr_curve(p, y, threshold: float | None = None, baselines: dict | None = None, title: str = "") -> bytes:
    """Precision-recall curve of P(positive), with the decision threshold's operating point marked."""
    from sklearn.metrics import precision_recall_curve

    p, y = np.asarray(p, dtype=np.float64), np.asarray(y).astype(int)
    figure, ax = _figure()
    for name, scores in {**(baselines or {}), "model": p}.items():
        precision, recall, _ = precision_recall_curve(y, scores)
        ax.step(recall, precision, where="post", label=name, linewidth=2.0 if name == "model" else 1.0,
                alpha=1.0 if name == "model" else 0.7)
    if threshold is not None:
        predicted = p >= threshold
        tp = int((predicted & (y == 1)).sum())
        precision = tp / max(1, int(predicted.sum()))
        recall = tp / max(1, int(y.sum()))
        ax.plot([recall], [precision], "o", color="black", markersize=7,
                label=f"threshold {threshold:.3f} (P={precision:.2f}, R={recall:.2f})")
    ax.axhline(y.mean(), color="grey", linestyle=":", linewidth=1, label=f"prevalence {y.mean():.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02),
           title=title or "Precision-recall (test)")
    ax.legend(loc="lower left", fontsize=7)
    return _png(figure)


def reliability(p_raw, p_calibrated, y, title: str = "") -> bytes:
    """Reliability diagram: observed share of positives against mean predicted probability per bin, before and
    after calibration (marker size grows with the bin's size)."""
    figure, ax = _figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    for name, p, marker in (("uncalibrated", p_raw, "s"), ("calibrated", p_calibrated, "o")):
        rows = reliability_bins(p, y, ECE_BINS, "width")
        sizes = np.array([r["count"] for r in rows], dtype=np.float64)
        ax.plot([r["confidence"] for r in rows], [r["positive_rate"] for r in rows], marker=marker, linewidth=1,
                label=name)
        ax.scatter([r["confidence"] for r in rows], [r["positive_rate"] for r in rows],
                   s=10 + 90 * sizes / sizes.max(), alpha=0.4)
    ax.set(xlabel="mean predicted P(depression)", ylabel="observed share depressed", xlim=(0, 1), ylim=(0, 1),
           title=title or f"Reliability ({ECE_BINS} equal-width bins, test)")
    ax.legend(loc="upper left", fontsize=7)
    return _png(figure)


def severity(predictions, targets, low=None, high=None, title: str = "") -> bytes:
    """Predicted vs true severity, each interview with its interval (when given)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    figure, ax = _figure()
    if low is not None and high is not None:
        low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        finite = np.isfinite(low) & np.isfinite(high)
        inside = (targets >= low) & (targets <= high)
        ax.errorbar(targets[finite], predictions[finite],
                    yerr=[predictions[finite] - low[finite], high[finite] - predictions[finite]], fmt="none",
                    ecolor="lightgrey", elinewidth=1, zorder=1)
        ax.scatter(targets[inside], predictions[inside], s=14, label="true score inside the interval", zorder=2)
        ax.scatter(targets[~inside], predictions[~inside], s=14, color="crimson", label="outside", zorder=2)
    else:
        ax.scatter(targets, predictions, s=14, zorder=2)
    lo, hi = float(np.nanmin(targets)), float(np.nanmax(targets))
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="true score", ylabel="predicted score", title=title or "Predicted vs true severity (test)")
    if low is not None:
        ax.legend(loc="upper left", fontsize=7)
    return _png(figure)


def classification_plots(p_raw, p_calibrated, y, threshold: float | None, baselines: dict | None = None
                         ) -> dict[str, bytes]:
    """{file name: PNG}: the PR curve with the threshold, and the reliability diagram (when both classes occur)."""
    y = np.asarray(y).astype(int)
    if len(set(y.tolist())) < 2:
        return {}
    return {f"{PLOTS_DIR}/pr_curve.png": pr_curve(p_calibrated, y, threshold, baselines),
            f"{PLOTS_DIR}/reliability.png": reliability(p_raw, p_calibrated, y)}


def regression_plots(predictions, targets, low=None, high=None) -> dict[str, bytes]:
    return {f"{PLOTS_DIR}/severity.png": severity(predictions, targets, low, high)}


def trajectories_plot(trajectories, decisions, threshold: float, per_class: int = 3, title: str = "") -> bytes:
    """P(depression) after each post for a few users (the first `per_class` depressed and control users, or the
    first users when unlabelled), each user's decision point marked, the threshold dashed."""
    labelled = [t for t in trajectories if t.label in (0, 1)]
    if labelled:
        chosen = ([i for i, t in enumerate(trajectories) if t.label == 1][:per_class]
                  + [i for i, t in enumerate(trajectories) if t.label == 0][:per_class])
    else:
        chosen = list(range(min(len(trajectories), 2 * per_class)))
    figure, ax = _figure(6.0, 4.2)
    for i in chosen:
        t, d = trajectories[i], decisions[i]
        kind = {1: "depressed", 0: "control"}.get(t.label, "user")
        line = ax.plot(t.posts_seen, t.scores, linewidth=1.4, linestyle="-" if t.label != 0 else "--",
                       label=f"{kind} {t.user_id[-12:]}")[0]
        if d is not None and d.decision:
            ax.plot([d.delay], [t.scores[d.step]], marker="o", markersize=8, color=line.get_color())
    ax.axhline(threshold, color="black", linestyle=":", linewidth=1, label=f"threshold {threshold:.3f}")
    ax.set(xlabel="posts read", ylabel="P(depression)", ylim=(-0.02, 1.02),
           title=title or "Score as the posts arrive (dot: the user is flagged)")
    ax.legend(loc="upper left", fontsize=6, ncol=2)
    return _png(figure)
