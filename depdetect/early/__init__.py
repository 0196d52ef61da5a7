"""Early risk detection: users scored as their posts arrive, decision policies, and the field's time-aware metrics.

    from depdetect.early import DecisionPolicy, choose_early_policy, early_risk_metrics, run_stream
    stream = doris.stream("user-1")                       # or HybridUserStream(...) for the Hybrid aggregate
    result = run_stream(stream, user, chunk_size=1, policy=DecisionPolicy(0.4, min_posts=3, patience=2))
    early_risk_metrics(decisions, delays, labels, num_posts=...)   # ERDE_5, ERDE_50, F_latency, latency_TP, ...

Light on import (names load on first use), so the command line can read EarlyOptions without numpy work.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EarlyOptions": "options",
    "erde": "metrics", "f_latency": "metrics", "early_risk_metrics": "metrics", "early_risk_intervals": "metrics",
    "penalty_rate": "metrics", "latency_penalty": "metrics",
    "DecisionPolicy": "policy", "Decision": "policy", "Trajectory": "policy", "choose_early_policy": "policy",
    "run_stream": "streams", "ordered_posts": "streams", "HybridUserStream": "streams",
    "tfidf_prefix_trajectories": "baselines",
    "evaluate_early_file": "recipe", "predict_early_file": "recipe", "StreamingSystem": "recipe",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depdetect.early' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
