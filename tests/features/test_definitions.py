"""Behaviour of individual definitions on hand-made rows: sentinel, codes, ratios, windows, aggregates."""

import polars as pl
import pytest

from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import RawTables, empty_history, frame_from_rows
from services.feature_definitions.vocabularies import VOCABULARIES
from services.feature_store.online import compute_for_applications

BASE = {
    "SK_ID_CURR": 7,
    "AMT_INCOME_TOTAL": 100_000.0,
    "AMT_CREDIT": 300_000.0,
    "AMT_ANNUITY": 15_000.0,
    "DAYS_BIRTH": -14_610.0,
    "DAYS_EMPLOYED": -3_652.5,
}


def features(application: dict[str, object], **history: list[dict[str, object]]) -> dict[str, float | None]:
    tables = empty_history()
    tables.update({name: frame_from_rows(name, rows) for name, rows in history.items()})
    raw = RawTables(application=frame_from_rows("application", [application]), **tables)
    return compute_features(raw).row(0, named=True)


def test_days_employed_placeholder_becomes_missing_plus_a_flag() -> None:
    pensioner = features({**BASE, "DAYS_EMPLOYED": 365243.0})
    assert pensioner["app_days_employed"] is None
    assert pensioner["app_days_employed_is_placeholder"] == 1.0
    assert pensioner["app_employed_to_age"] is None
    worker = features(BASE)
    assert worker["app_days_employed_is_placeholder"] == 0.0
    assert worker["app_employed_to_age"] == pytest.approx(0.25)


def test_ratios_and_a_zero_denominator_gives_missing_not_inf() -> None:
    row = features(BASE)
    assert row["app_credit_to_income"] == pytest.approx(3.0)
    assert row["app_credit_term"] == pytest.approx(20.0)
    assert row["app_age_years"] == pytest.approx(40.0)
    assert features({**BASE, "AMT_INCOME_TOTAL": 0.0})["app_credit_to_income"] is None


def test_category_codes_follow_the_vocabulary_and_unseen_values_get_the_unknown_code() -> None:
    assert features({**BASE, "CODE_GENDER": "M"})["app_code_gender_code"] == 1.0
    assert features({**BASE, "CODE_GENDER": "Robot"})["app_code_gender_code"] == len(
        VOCABULARIES["code_gender"]
    )
    assert features(BASE)["app_code_gender_code"] is None


def test_external_score_summaries_use_the_available_scores() -> None:
    row = features({**BASE, "EXT_SOURCE_1": 0.2, "EXT_SOURCE_3": 0.6})
    assert row["app_ext_source_mean"] == pytest.approx(0.4)
    assert row["app_ext_source_std"] == pytest.approx(0.2)
    assert row["app_ext_source_missing_count"] == 1.0
    assert row["app_ext_source_product"] is None


def test_bureau_aggregates_split_active_and_closed_and_read_monthly_statuses() -> None:
    bureau = [
        {
            "SK_ID_CURR": 7,
            "SK_ID_BUREAU": 1,
            "CREDIT_ACTIVE": "Active",
            "DAYS_CREDIT": -100.0,
            "AMT_CREDIT_SUM": 1000.0,
            "AMT_CREDIT_SUM_DEBT": 400.0,
        },
        {
            "SK_ID_CURR": 7,
            "SK_ID_BUREAU": 2,
            "CREDIT_ACTIVE": "Closed",
            "DAYS_CREDIT": -900.0,
            "AMT_CREDIT_SUM": 3000.0,
            "AMT_CREDIT_SUM_DEBT": 0.0,
        },
    ]
    months = [{"SK_ID_BUREAU": 1, "MONTHS_BALANCE": float(-m), "STATUS": s} for m, s in enumerate("0123")]
    row = features(BASE, bureau=bureau, bureau_balance=months)
    assert (row["bureau_all_count"], row["bureau_active_count"], row["bureau_recent_count"]) == (
        2.0,
        1.0,
        1.0,
    )
    assert row["bureau_active_debt_to_credit_mean"] == pytest.approx(0.4)
    assert row["bureau_all_credit_amount_sum"] == 4000.0
    assert row["bureau_all_worst_status_max"] == 3.0
    assert row["bureau_all_late_month_share_max"] == pytest.approx(0.75)
    assert row["bureau_closed_months_reported_sum"] is None  # the closed credit has no monthly rows


def test_instalment_lateness_and_underpayment() -> None:
    rows = [
        {
            "SK_ID_PREV": 1,
            "SK_ID_CURR": 7,
            "DAYS_INSTALMENT": -40.0,
            "DAYS_ENTRY_PAYMENT": -30.0,
            "AMT_INSTALMENT": 100.0,
            "AMT_PAYMENT": 50.0,
        },
        {
            "SK_ID_PREV": 1,
            "SK_ID_CURR": 7,
            "DAYS_INSTALMENT": -400.0,
            "DAYS_ENTRY_PAYMENT": -405.0,
            "AMT_INSTALMENT": 100.0,
            "AMT_PAYMENT": 100.0,
        },
    ]
    row = features(BASE, installments_payments=rows)
    assert row["instalments_all_days_past_due_max"] == 10.0
    assert row["instalments_all_days_before_due_sum"] == 5.0
    assert row["instalments_all_is_late_mean"] == 0.5
    assert row["instalments_all_paid_to_owed_mean"] == pytest.approx(0.75)
    assert row["instalments_last_quarter_count"] == 1.0
    assert row["instalments_last_year_owed_minus_paid_sum"] == 50.0


def test_output_columns_are_the_catalog_in_order() -> None:
    assert list(features(BASE)) == ["sk_id_curr", *NAMES]


def test_raw_applications_without_an_id_are_rejected_with_a_reason() -> None:
    with pytest.raises(ValueError, match="SK_ID_CURR"):
        compute_for_applications("postgresql://unused", pl.DataFrame({"AMT_CREDIT": [1.0]}))
