"""Diagnostic figures logged with every training run (PNG, headless matplotlib)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from services.model.calibration import calibration_table
from services.model.cost import cost_curve


def save_all(
    y_true: np.ndarray, pd: np.ndarray, threshold: float, importance: pl.DataFrame, out: Path
) -> None:
    """Write every figure for one set of labelled predictions into `out`."""
    figures = {
        "roc_curve.png": roc_figure(y_true, pd),
        "pr_curve.png": pr_figure(y_true, pd),
        "cost_vs_threshold.png": cost_figure(y_true, pd, threshold),
        "calibration_curve.png": calibration_figure(y_true, pd),
        "confusion_matrix.png": confusion_figure(y_true, pd, threshold),
        "shap_importance.png": importance_figure(importance),
    }
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=90, bbox_inches="tight")
        plt.close(figure)


def roc_figure(y_true: np.ndarray, pd: np.ndarray) -> Figure:
    fpr, tpr, _ = roc_curve(y_true, pd)
    figure, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    return figure


def pr_figure(y_true: np.ndarray, pd: np.ndarray) -> Figure:
    precision, recall, _ = precision_recall_curve(y_true, pd)
    figure, ax = plt.subplots(figsize=(5, 5))
    ax.plot(recall, precision)
    ax.axhline(float(np.mean(y_true)), linestyle="--", color="grey")
    ax.set(xlabel="recall (defaults caught)", ylabel="precision", title="Precision-recall curve")
    return figure


def cost_figure(y_true: np.ndarray, pd: np.ndarray, threshold: float) -> Figure:
    thresholds, costs = cost_curve(y_true, pd)
    finite = np.isfinite(thresholds)
    figure, ax = plt.subplots(figsize=(6, 4))
    ax.plot(thresholds[finite], costs[finite])
    ax.axvline(threshold, linestyle="--", color="red", label=f"chosen threshold {threshold:.3f}")
    ax.set(xlabel="PD threshold (refuse at or above)", ylabel="cost per application", title="Business cost")
    ax.legend()
    return figure


def calibration_figure(y_true: np.ndarray, pd: np.ndarray) -> Figure:
    mean_pd, observed = calibration_table(y_true, pd, bins=20)
    figure, ax = plt.subplots(figsize=(5, 5))
    ax.plot(mean_pd, observed, marker="o")
    top = float(max(mean_pd.max(), observed.max()))
    ax.plot([0, top], [0, top], linestyle="--", color="grey")
    ax.set(xlabel="mean predicted PD", ylabel="observed default rate", title="Calibration (20 bins)")
    return figure


def confusion_figure(y_true: np.ndarray, pd: np.ndarray, threshold: float) -> Figure:
    matrix = confusion_matrix(y_true, (pd >= threshold).astype(int), labels=[0, 1])
    figure, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center")
    ax.set_xticks([0, 1], ["approved", "refused"])
    ax.set_yticks([0, 1], ["repaid", "defaulted"])
    ax.set(title=f"Confusion at threshold {threshold:.3f}")
    return figure


def importance_figure(importance: pl.DataFrame, top: int = 20) -> Figure:
    head = importance.head(top).reverse()
    figure, ax = plt.subplots(figsize=(6, 0.3 * len(head) + 1))
    ax.barh(head["feature"].to_list(), head["mean_abs_shap"].to_list())
    ax.set(xlabel="mean |SHAP value| (log-odds)", title="Global feature importance")
    return figure
