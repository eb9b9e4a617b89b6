"""Global importance of a model version: mean |SHAP value| over its reference sample, as JSON and PNG."""

import io

import matplotlib.pyplot as plt
import polars as pl

from services.explainer.schemas import FeatureImportance, GlobalImportance
from services.scoring.evaluation import global_importance
from services.scoring.model import ScoringModel
from services.scoring.plots import importance_figure


def version_importance(model: ScoringModel, version: str, reference: pl.DataFrame) -> GlobalImportance:
    """The same computation training logs (`global_importance`), over the rows monitoring compares to."""
    rows = reference.select(model.feature_names).to_numpy().astype("float64")
    table = global_importance(model.booster, rows, model.feature_names)
    features = [FeatureImportance(**row) for row in table.iter_rows(named=True)]
    return GlobalImportance(model_version=version, rows=len(rows), features=features)


def importance_png(importance: GlobalImportance) -> bytes:
    table = pl.DataFrame([f.model_dump() for f in importance.features])
    figure = importance_figure(table)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
