"""One impossible value per domain and one row per cross-field rule (services/data/domains.py), shared by
the tests of every place that applies the domains: request schemas, batch scoring, the loader."""

from typing import Any

from services.data.domains import RULES, Domain, domain_for

HISTORY = ("bureau", "bureau_balance", "previous_application", "POS_CASH_balance", "installments_payments")
HISTORY += ("credit_card_balance",)
# A valid new application; every case below changes one thing in it.
VALID_APPLICATION: dict[str, Any] = {
    "SK_ID_CURR": 990_001,
    "AMT_INCOME_TOTAL": 90_000.0,
    "AMT_CREDIT": 300_000.0,
    "AMT_ANNUITY": 15_000.0,
    "DAYS_BIRTH": -14_000,
    "DAYS_EMPLOYED": -2_000,
    "CODE_GENDER": "F",
    "EXT_SOURCE_2": 0.4,
}
# Rule name -> the changes that break it (and nothing else).
BREAKING: dict[str, dict[str, Any]] = {
    "annuity_within_credit": {"AMT_ANNUITY": 300_001.0},
    "employment_within_adult_life": {"DAYS_EMPLOYED": -14_000 + 5_000},
    "days_registration_after_birth": {"DAYS_REGISTRATION": -14_001},
    "days_id_publish_after_birth": {"DAYS_ID_PUBLISH": -14_001},
    "days_last_phone_change_after_birth": {"DAYS_LAST_PHONE_CHANGE": -14_001},
}


def impossible(domain: Domain) -> Any:
    """A value the domain refuses: outside its set or range, else not finite."""
    if domain.kind == "category":
        return "no such value"
    if domain.low is not None:
        return domain.low - 1
    if domain.high is not None:
        return domain.high + 1
    return float("inf")


def application_cases() -> list[tuple[str, dict[str, Any]]]:
    """(field the 422 must name, application) for every application domain and cross-field rule."""
    cases = [
        (column, {**VALID_APPLICATION, column: impossible(domain)})
        for column, domain in domain_for("application_test").items()
    ]
    rules = RULES["application_test"]
    assert {r.name for r in rules} == set(BREAKING), "every cross-field rule needs a breaking case"
    cases += [(rule.columns[0], {**VALID_APPLICATION, **BREAKING[rule.name]}) for rule in rules]
    return cases


def history_cases() -> list[tuple[str, str, Any]]:
    """(history table, column, impossible value) for every history domain except the ids."""
    return [
        (table, column, impossible(domain))
        for table in HISTORY
        for column, domain in domain_for(table).items()
        if domain.kind != "id"
    ]
