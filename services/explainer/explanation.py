"""Scored rows explained: PD and decision from the ScoringModel, SHAP contributions summed per reason
family, the top-k features, and the principal reasons in words."""

import math
from collections.abc import Sequence

import numpy as np

from services.contracts.explanations import Contribution, Explanation
from services.explainer.metrics import SHAP_SECONDS
from services.explainer.models import LoadedVersion
from services.explainer.reasons import direction, principal_reasons
from services.explainer.shap_values import contributions
from services.feature_definitions.families import catalogue


def explain_rows(
    loaded: LoadedVersion, version: str, rows: np.ndarray, client_ids: Sequence[int | None], top_k: int
) -> list[Explanation]:
    """Rows of one model version (in model feature order) explained together: one TreeSHAP call and one
    PD call for all of them, so the per-call costs are paid once per batch, not once per row."""
    model = loaded.model
    with SHAP_SECONDS.time():
        shap, base_values = contributions(model.booster, rows)
    pd_values, decisions = model.decisions(rows)
    explanations = []
    for i, client_id in enumerate(client_ids):
        families = loaded.families.totals(shap[i])
        decision = str(decisions[i])
        explanations.append(
            Explanation(
                model_version=version,
                client_id=client_id,
                base_value=float(base_values[i]),
                raw_margin=float(base_values[i] + shap[i].sum()),
                pd=float(pd_values[i]),
                decision=decision,
                threshold=model.threshold,
                contributions=top_contributions(model.feature_names, rows[i], shap[i], top_k),
                families=families,
                principal_reasons=principal_reasons(
                    decision, families, model.feature_names, rows[i], shap[i], loaded.repaid_medians
                ),
            )
        )
    return explanations


def top_contributions(
    names: tuple[str, ...], row: np.ndarray, shap: np.ndarray, top_k: int
) -> list[Contribution]:
    """The k largest |SHAP values|; features the trees never used (SHAP exactly 0) say nothing."""
    plain = catalogue()
    order = [i for i in np.argsort(-np.abs(shap), kind="stable")[:top_k] if shap[i] != 0.0]
    return [
        Contribution(
            feature=names[i],
            label=plain[names[i]].label,
            family=plain[names[i]].family,
            value=None if math.isnan(row[i]) else float(row[i]),
            shap_value=float(shap[i]),
            direction=direction(shap[i]),
        )
        for i in order
    ]
