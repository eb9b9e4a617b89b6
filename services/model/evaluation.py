"""Metrics a credit model is judged by: ranking (AUC, KS), probability quality (Brier, ECE) and the
business outcome at the decision threshold (cost per application, approval rate)."""

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from services.model.calibration import expected_calibration_error
from services.model.cost import cost_per_application


def ks_statistic(y_true: np.ndarray, score: np.ndarray) -> float:
    """Largest gap between the score distributions of defaulters and good clients."""
    fpr, tpr, _ = roc_curve(y_true, score)
    return float(np.max(tpr - fpr))


def decision_metrics(y_true: np.ndarray, pd: np.ndarray, threshold: float) -> dict[str, float]:
    """Every headline metric for calibrated PDs and a refusal threshold."""
    return {
        "roc_auc": float(roc_auc_score(y_true, pd)),
        "ks": ks_statistic(y_true, pd),
        "brier": float(brier_score_loss(y_true, pd)),
        "ece": expected_calibration_error(y_true, pd),
        "cost_per_app": cost_per_application(y_true, pd, threshold),
        "approval_rate": float(np.mean(pd < threshold)),
    }


def global_importance(booster: lgb.Booster, x: np.ndarray, names: tuple[str, ...]) -> pl.DataFrame:
    """Mean |SHAP value| per feature (TreeSHAP via LightGBM's pred_contrib), largest first."""
    contributions = booster.predict(x, pred_contrib=True)[:, :-1]  # last column is the expected value
    return pl.DataFrame({"feature": list(names), "mean_abs_shap": np.abs(contributions).mean(axis=0)}).sort(
        "mean_abs_shap", descending=True
    )
