"""Reason-code wording (catalog descriptions, compared with the reference median) and their order."""

import numpy as np
import pytest

from explainer.conftest import SmallModel
from services.explainer.cache import explanation_id
from services.explainer.explanation import explain_rows
from services.explainer.models import LoadedVersion
from services.explainer.reasons import reasons_for
from services.explainer.schemas import Contribution

MEDIANS = {"app_ext_source_3": 0.5, "app_days_birth": -16_000.0}


def contribution(feature: str, value: float | None, shap_value: float) -> Contribution:
    direction = "raises risk" if shap_value > 0 else "lowers risk"
    return Contribution(feature=feature, value=value, shap_value=shap_value, direction=direction)


def texts(contributions: list[Contribution], decision: str) -> list[str]:
    return [r.text for r in reasons_for(contributions, decision, MEDIANS)]


def test_wording_uses_catalog_descriptions_and_compares_with_the_median() -> None:
    found = texts([
        contribution("app_ext_source_3", 0.12, 0.9),
        contribution("app_days_birth", -9_500.5, 0.3),
        contribution("app_flag_email", 0.0, 0.2),
        contribution("app_name_income_type_code", 2.0, -0.1),
        contribution("app_ext_source_2", None, 0.05),
        contribution("model_only_feature", 7.0, 0.01),
    ], "approved")  # fmt: skip
    assert found == [
        "Normalised score from external data source 3 is 0.12, lower than usual (0.5): raises risk",
        "Client's age in days, negative, relative to the application is -9,500 days = 26.0 years,"
        " higher than usual (-16,000 days = 43.8 years): raises risk",
        "Client gave an e-mail address (no): raises risk",
        "NAME_INCOME_TYPE is Pensioner: lowers risk",
        "Normalised score from external data source 2 is missing: raises risk",
        "model_only_feature is 7: raises risk",
    ]


def test_refusal_lists_risk_raising_reasons_first_approval_orders_by_impact() -> None:
    mixed = [
        contribution("app_ext_source_3", 0.9, -0.8),
        contribution("app_days_birth", -8_000.0, 0.3),
        contribution("app_flag_email", 1.0, -0.2),
        contribution("app_ext_source_2", None, 0.1),
    ]
    refused = reasons_for(mixed, "refused", MEDIANS)
    approved = reasons_for(mixed, "approved", MEDIANS)
    assert [r.feature for r in refused] == [
        "app_days_birth",
        "app_ext_source_2",
        "app_ext_source_3",
        "app_flag_email",
    ]
    assert [r.feature for r in approved] == [
        "app_ext_source_3",
        "app_days_birth",
        "app_flag_email",
        "app_ext_source_2",
    ]


def test_explanations_of_a_batch_match_the_model(small: SmallModel) -> None:
    rows = small.x[3:8]
    client_ids = [42, None, 7, 8, 9]
    results = explain_rows(LoadedVersion(small.model, MEDIANS), "7", rows, client_ids, top_k=3)
    expected_pd = small.model.predict_pd(rows)
    margins = small.model.booster.predict(rows, raw_score=True)
    assert [r.client_id for r in results] == client_ids
    for result, pd_value, margin in zip(results, expected_pd, margins, strict=True):
        assert result.pd == pytest.approx(pd_value, abs=1e-12)
        assert result.raw_margin == pytest.approx(margin)
        assert result.decision == small.model.decide(np.array([pd_value]))[0]
        assert len(result.contributions) == 3
        impacts = [abs(c.shap_value) for c in result.contributions]
        assert impacts == sorted(impacts, reverse=True)
        assert {r.feature for r in result.reasons} == {c.feature for c in result.contributions}
    assert len({r.pd for r in results}) == len(results)  # rows differ: each got its own explanation


def test_explanation_id_ignores_key_order_and_number_spelling_but_not_values_or_version() -> None:
    first = explanation_id("3", {"a": 1, "b": None, "c": float("nan")})
    assert first == explanation_id("3", {"c": None, "b": float("nan"), "a": 1.0})
    assert first.startswith("3-") and len(first) == 2 + 24
    assert first != explanation_id("3", {"a": 1.5, "b": None, "c": None})
    assert first != explanation_id("4", {"a": 1, "b": None, "c": None})
