"""Scored rows explained: PD and decision from the ScoringModel, top-k SHAP contributions, reasons."""

import math
from collections.abc import Sequence

import numpy as np

from services.explainer.metrics import SHAP_SECONDS
from services.explainer.models import LoadedVersion
from services.explainer.reasons import reasons_for
from services.explainer.schemas import Contribution, Explanation
from services.explainer.shap_values import contributions


def explain_rows(
    loaded: LoadedVersion, version: str, rows: np.ndarray, client_ids: Sequence[int | None], top_k: int
) -> list[Explanation]:
    """Rows of one model version (in model feature order) explained together: one TreeSHAP call and one
    PD call for all of them, so the per-call costs are paid once per batch, not once per row."""
    model = loaded.model
    with SHAP_SECONDS.time():
        shap, base_values = contributions(model.booster, rows)
    pd_values = model.predict_pd(rows)
    decisions = model.decide(pd_values)
    explanations = []
    for i, client_id in enumerate(client_ids):
        top = top_contributions(model.feature_names, rows[i], shap[i], top_k)
        explanations.append(
            Explanation(
                model_version=version,
                client_id=client_id,
                base_value=float(base_values[i]),
                raw_margin=float(base_values[i] + shap[i].sum()),
                pd=float(pd_values[i]),
                decision=str(decisions[i]),
                threshold=model.threshold,
                contributions=top,
                reasons=reasons_for(top, str(decisions[i]), loaded.medians),
            )
        )
    return explanations


def top_contributions(
    names: tuple[str, ...], row: np.ndarray, shap: np.ndarray, top_k: int
) -> list[Contribution]:
    """The k largest |SHAP values|; features the trees never used (SHAP exactly 0) say nothing."""
    order = [i for i in np.argsort(-np.abs(shap), kind="stable")[:top_k] if shap[i] != 0.0]
    return [
        Contribution(
            feature=names[i],
            value=None if math.isnan(row[i]) else float(row[i]),
            shap_value=float(shap[i]),
            direction="raises risk" if shap[i] > 0 else "lowers risk",
        )
        for i in order
    ]
