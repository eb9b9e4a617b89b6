"""Local SHAP values of scored rows, from LightGBM's own TreeSHAP (`pred_contrib`).

LightGBM computes exact TreeSHAP in C++ on the booster it trained, without converting the trees to
another library's format; tests check it against `shap.TreeExplainer` and against the raw margin.
"""

from collections.abc import Mapping

import lightgbm as lgb
import numpy as np

from services.feature_definitions.catalog import NAMES

PLATFORM_NAMES = frozenset(NAMES)


class VectorMismatch(ValueError):
    """The submitted features are not the model's; the message names the differences."""


def vector_for(feature_names: tuple[str, ...], features: Mapping[str, float | None]) -> np.ndarray:
    """The row in model order; None becomes NaN (missing), as in training. `features` may be the features
    service's whole vector when the model uses a subset of it: the model's names are picked out."""
    try:  # the common case in one pass; numpy reads None as NaN
        row = np.array([features[name] for name in feature_names], dtype=np.float64)
    except KeyError:
        row = None
    if row is not None and (len(features) == len(feature_names) or features.keys() <= PLATFORM_NAMES):
        return row
    absent = [name for name in feature_names if name not in features]
    unknown = sorted(set(features) - set(feature_names))
    raise VectorMismatch(
        f"feature vector does not match the model: {len(absent)} missing (e.g. {absent[:3]}), "
        f"{len(unknown)} unknown (e.g. {unknown[:3]})"
    )


def contributions(booster: lgb.Booster, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SHAP value per row and feature, base value per row), in log-odds of the positive class (default).

    Rows are independent: a batch gives each row exactly the values it gets alone. Workers run it with
    OpenMP limited to one thread per process (celery_app.one_thread_per_process).
    """
    output = booster.predict(rows, pred_contrib=True)
    return output[:, :-1], output[:, -1]
