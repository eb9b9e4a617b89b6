"""One scored row explained: PD and decision from the ScoringModel, top-k SHAP contributions, reasons."""

import math
from collections.abc import Mapping

import numpy as np

from services.explainer.models import LoadedVersion
from services.explainer.reasons import reasons_for
from services.explainer.schemas import Contribution, Explanation
from services.explainer.shap_values import contributions, vector_for


def explain(
    loaded: LoadedVersion,
    version: str,
    features: Mapping[str, float | None],
    client_id: int | None,
    top_k: int,
) -> Explanation:
    model = loaded.model
    row = vector_for(model.feature_names, features)
    shap, base_value = contributions(model.booster, row)
    pd_value = float(model.predict_pd(row.reshape(1, -1))[0])
    decision = str(model.decide(np.array([pd_value]))[0])
    top = top_contributions(model.feature_names, row, shap, top_k)
    return Explanation(
        model_version=version,
        client_id=client_id,
        base_value=base_value,
        raw_margin=base_value + float(shap.sum()),
        pd=pd_value,
        decision=decision,
        threshold=model.threshold,
        contributions=top,
        reasons=reasons_for(top, decision, loaded.medians),
    )


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
