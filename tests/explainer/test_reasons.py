"""Reason wording (plain labels, units, comparisons only where consistent), principal reasons per family
(at most four, the decision's way, gender never) and family sums adding up to the margin."""

from dataclasses import replace

import numpy as np
import pytest

from services.explainer.cache import explanation_id
from services.explainer.explanation import explain_rows
from services.explainer.models import loaded_version
from services.explainer.reasons import Families, describe, principal_reasons
from services.model.policy import ReviewBand
from tests.support.models import SmallModel

NAMES = (
    "app_ext_source_3",
    "app_ext_source_mean",
    "app_days_birth",
    "app_code_gender_code",
    "app_flag_email",
    "app_name_income_type_code",
    "app_credit_to_income",
    "app_annuity_to_income",
)
REPAID = {"app_ext_source_3": 0.55, "app_days_birth": -16_000.0, "app_credit_to_income": 3.0}


@pytest.mark.parametrize(
    ("name", "value", "effect", "expected"),
    [
        ("app_ext_source_3", 0.12, "raises risk", "external score 3 is 0.12, below the 0.55 typical of repaid clients"),  # noqa: E501
        ("app_ext_source_3", 0.80, "lowers risk", "external score 3 is 0.80, above the 0.55 typical of repaid clients"),  # noqa: E501
        # the other side of the median from the effect: said without a comparison, never "lower ... lowers"
        ("app_ext_source_3", 0.47, "lowers risk", "external score 3 is 0.47"),
        ("app_ext_source_3", 0.60, "raises risk", "external score 3 is 0.60"),
        ("app_ext_source_1", np.nan, "raises risk", "no external score 1 on file"),
        ("app_days_birth", -9_500.0, "raises risk", "age is 26.0 years, below the 43.8 years typical of repaid clients"),  # noqa: E501
        ("app_days_employed", -240.0, "raises risk", "time in the current job is 8 months"),
        ("app_days_employed", np.nan, "raises risk", "time in the current job not known"),
        ("app_credit_to_income", 5.26, "raises risk", "credit amount relative to yearly income is 5.3 times"),
        ("app_annuity_to_income", 0.234, "raises risk", "annuity as a share of yearly income is 23%"),
        ("app_amt_income_total", 112_500.0, "lowers risk", "yearly income is 112,500"),
        ("app_flag_email", 0.0, "raises risk", "e-mail address given: no"),
        ("app_name_income_type_code", 2.0, "lowers risk", "income type: Pensioner"),
        ("app_organization_type_code", 99.0, "raises risk", "employer type: a value outside the usual list"),
        ("app_flag_own_realty_code", 0.0, "lowers risk", "owns a home: no"),
        ("instalments_last_year_is_late_mean", 0.25, "raises risk", "share of instalments of the last year paid late is 25%"),  # noqa: E501
    ],
)  # fmt: skip
def test_a_value_reads_in_its_unit_and_compares_only_when_consistent(
    name: str, value: float, effect: str, expected: str
) -> None:
    assert describe(name, value, effect, REPAID.get(name, -16_000.0 if "days" in name else None)) == expected


def reasons(decision: str, shap: list[float], row: list[float]) -> list:
    families = Families.of(NAMES).totals(np.array(shap))
    return principal_reasons(decision, families, NAMES, np.array(row), np.array(shap), REPAID)


ROW = [0.2, 0.3, -9_000.0, 1.0, 0.0, 0.0, 6.0, 0.3]


def test_a_refusal_gives_at_most_four_families_raising_the_risk_strongest_first_gender_never() -> None:
    shap = [0.5, 0.6, 0.3, 2.0, 0.2, 0.1, 0.05, 0.04]  # gender strongest; five other families raise it
    found = reasons("refused", shap, ROW)
    assert [r.family for r in found] == ["external_scores", "age", "documents_contact", "occupation"]
    assert found[0].features == ["app_ext_source_mean", "app_ext_source_3"]  # one reason for both
    assert found[0].text == (
        "External credit scores: average external score is 0.30; external score 3 is 0.20, below the 0.55"
        " typical of repaid clients. This raises the risk."
    )
    assert all(r.direction == "raises risk" for r in found)
    assert reasons("review", shap, ROW) == found  # review is told what a refusal is


def test_an_approval_gives_its_strengths_and_skips_families_pulling_the_other_way() -> None:
    shap = [-0.5, 0.7, -0.3, -2.0, 0.0, -0.1, 0.2, -0.4]
    found = reasons("approved", shap, ROW)
    assert [r.family for r in found] == [
        "term_annuity",
        "age",
        "occupation",
    ]  # scores net +0.2: not a strength
    assert all(r.direction == "lowers risk" and r.text.endswith("This lowers the risk.") for r in found)


def test_explanations_of_a_batch_match_the_model_and_families_add_up_to_the_margin(small: SmallModel) -> None:
    rows = small.x[3:8]
    client_ids = [42, None, 7, 8, 9]
    results = explain_rows(loaded_version(small.model, small.reference), "7", rows, client_ids, top_k=3)
    expected_pd = small.model.predict_pd(rows)
    margins = small.model.booster.predict(rows, raw_score=True)
    assert [r.client_id for r in results] == client_ids
    for result, pd_value, margin in zip(results, expected_pd, margins, strict=True):
        assert result.pd == pytest.approx(pd_value, abs=1e-12)
        assert result.raw_margin == pytest.approx(margin)
        assert result.base_value + sum(f.shap_value for f in result.families) == pytest.approx(margin)
        assert result.decision == small.model.outcome(np.array([pd_value]))[0]
        assert len(result.contributions) == 3
        impacts = [abs(c.shap_value) for c in result.contributions]
        assert impacts == sorted(impacts, reverse=True)
        assert result.contributions[0].label and result.contributions[0].family
        assert 1 <= len(result.principal_reasons) <= 4
    assert len({r.pd for r in results}) == len(results)  # rows differ: each got its own explanation


def test_a_case_in_the_review_band_is_explained_as_review_with_its_risks(small: SmallModel) -> None:
    band = ReviewBand.around(small.model.predict_pd(small.x), small.model.threshold, 0.3)
    model = replace(small.model, review=band)
    results = explain_rows(loaded_version(model, small.reference), "7", small.x[:300], [None] * 300, top_k=3)
    reviewed = [r for r in results if r.decision == "review"]
    assert reviewed and {r.decision for r in results} == {"approved", "review", "refused"}
    assert all(reason.direction == "raises risk" for r in reviewed for reason in r.principal_reasons)
    assert all(r.principal_reasons for r in reviewed)


def test_explanation_id_ignores_key_order_and_number_spelling_but_not_values_or_version() -> None:
    first = explanation_id("3", {"a": 1, "b": None, "c": float("nan")})
    assert first == explanation_id("3", {"c": None, "b": float("nan"), "a": 1.0})
    assert first.startswith("3-") and len(first) == 2 + 24
    assert first != explanation_id("3", {"a": 1.5, "b": None, "c": None})
    assert first != explanation_id("4", {"a": 1, "b": None, "c": None})
