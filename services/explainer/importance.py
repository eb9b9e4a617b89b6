"""Global importance of a model version: mean |SHAP value| over its reference sample, per feature and
per reason family (the mean |sum| of a family's contributions: what its reasons weigh), as JSON and PNG."""

import io

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from services.contracts.explanations import FamilyImportance, FeatureImportance, GlobalImportance
from services.explainer.reasons import Families
from services.explainer.shap_values import contributions
from services.feature_definitions.families import FAMILY_BY_KEY, catalogue
from services.model.model import ScoringModel
from services.training.plots import importance_figure


def version_importance(model: ScoringModel, version: str, reference: pl.DataFrame) -> GlobalImportance:
    """The figure training logs (mean |SHAP value| per feature), over the rows monitoring compares to."""
    rows = reference.select(model.feature_names).to_numpy().astype("float64")
    shap, _ = contributions(model.booster, rows)
    plain = catalogue()
    per_feature = np.abs(shap).mean(axis=0)
    features = [
        FeatureImportance(
            feature=name, label=plain[name].label, family=plain[name].family, mean_abs_shap=value
        )
        for name, value in sorted(
            zip(model.feature_names, per_feature.tolist(), strict=True), key=lambda item: -item[1]
        )
    ]
    columns = Families.of(model.feature_names).columns
    per_family = {key: float(np.abs(shap[:, index].sum(axis=1)).mean()) for key, index in columns.items()}
    families = [
        FamilyImportance(family=key, title=FAMILY_BY_KEY[key].title, mean_abs_shap=value)
        for key, value in sorted(per_family.items(), key=lambda item: -item[1])
    ]
    return GlobalImportance(model_version=version, rows=len(rows), features=features, families=families)


def importance_png(importance: GlobalImportance) -> bytes:
    table = pl.DataFrame([f.model_dump() for f in importance.features]).select("feature", "mean_abs_shap")
    figure = importance_figure(table)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
