"""Plain-language reason codes from SHAP contributions, worded with the feature catalog's descriptions.

"higher/lower than usual" compares the value with the median of the model version's reference sample, so
the wording says how this client differs from the population the model was checked on. Day counts (the
Kaggle tables count days back from the application, as negative numbers) are also given in years.
"""

import re

from services.explainer.schemas import Contribution, Reason
from services.features.catalog import DESCRIPTIONS, KINDS
from services.features.vocabularies import VOCABULARIES

# Categorical features are `app_{column}_code`: the position of the value in VOCABULARIES[column].
_CATEGORY_CODE = re.compile(r"^app_(?P<column>.+)_code$")
DAYS_PER_YEAR = 365.25


def reasons_for(contributions: list[Contribution], decision: str, medians: dict[str, float]) -> list[Reason]:
    """By |impact|; for a refusal the risk-raising reasons come first (they are what the client is told)."""
    by_impact = sorted(contributions, key=lambda c: abs(c.shap_value), reverse=True)
    if decision == "refused":
        by_impact.sort(key=lambda c: c.direction != "raises risk")  # stable: keeps |impact| order inside
    return [
        Reason(feature=c.feature, direction=c.direction, text=f"{describe(c, medians)}: {c.direction}")
        for c in by_impact
    ]


def describe(contribution: Contribution, medians: dict[str, float]) -> str:
    """The feature and its value in words, without the direction."""
    name, value = contribution.feature, contribution.value
    label = DESCRIPTIONS.get(name, name)
    if value is None:
        return f"{label} is missing"
    kind = KINDS.get(name, "continuous")
    if kind == "flag":
        return f"{label} ({'yes' if value else 'no'})"
    if kind == "categorical":
        return _category(name, label, value)
    median = medians.get(name)
    if median is None or value == median:
        return f"{label} is {_amount(name, value)}"
    side = "higher" if value > median else "lower"
    return f"{label} is {_amount(name, value)}, {side} than usual ({_amount(name, median)})"


def _category(name: str, label: str, code: float) -> str:
    match = _CATEGORY_CODE.match(name)
    vocabulary = VOCABULARIES.get(match["column"], ()) if match else ()
    if 0 <= code < len(vocabulary):
        return f"{match['column'].upper()} is {vocabulary[int(code)]}"
    return f"{label} is code {int(code)}"


def _amount(name: str, value: float) -> str:
    """A day count of a year or more also reads in years: -9,500 days = 26.0 years."""
    if "days" in name and abs(value) >= DAYS_PER_YEAR:
        return f"{_number(value)} days = {abs(value) / DAYS_PER_YEAR:.1f} years"
    return _number(value)


def _number(value: float) -> str:
    """Readable at a glance: 0.12, 3, -12,045 — not 0.12345678 or -1.2e+04."""
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"
