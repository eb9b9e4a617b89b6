"""Local SHAP values of one scored row, from LightGBM's own TreeSHAP (`pred_contrib`).

LightGBM computes exact TreeSHAP in C++ on the booster it trained, without converting the trees to
another library's format; tests check it against `shap.TreeExplainer` and against the raw margin.
"""

from collections.abc import Mapping

import lightgbm as lgb
import numpy as np


class VectorMismatch(ValueError):
    """The submitted features are not the model's; the message names the differences."""


def vector_for(feature_names: tuple[str, ...], features: Mapping[str, float | None]) -> np.ndarray:
    """The row in model order; None becomes NaN (missing), as in training."""
    absent = [name for name in feature_names if name not in features]
    unknown = sorted(set(features) - set(feature_names))
    if absent or unknown:
        raise VectorMismatch(
            f"feature vector does not match the model: {len(absent)} missing (e.g. {absent[:3]}), "
            f"{len(unknown)} unknown (e.g. {unknown[:3]})"
        )
    return np.array([np.nan if features[n] is None else features[n] for n in feature_names], dtype=np.float64)


def contributions(booster: lgb.Booster, row: np.ndarray) -> tuple[np.ndarray, float]:
    """(SHAP value per feature, base value), both in log-odds of the positive class (default).

    Workers run it with OpenMP limited to one thread per process (celery_app.one_thread_per_process).
    """
    output = booster.predict(row.reshape(1, -1), pred_contrib=True)
    return output[0, :-1], float(output[0, -1])
