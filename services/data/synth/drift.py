"""`--drift`: shift a documented set of columns, leaving every other value byte-identical.

Drift is applied after all random draws, as a pure function of the undrifted values, so the same seed
gives the same rows with and without it; TARGET and the oracle are then recomputed from the drifted
values with the same uniform draws (see docs/synthetic-data.md).
"""

import numpy as np

from services.data.domains import ADULT_DAYS, DAY_SENTINEL
from services.data.synth.application import AFTER_BIRTH
from services.data.synth.profile import Column

APPLICATION_DRIFT = ("AMT_INCOME_TOTAL", "DAYS_BIRTH", "EXT_SOURCE_2")
DRIFTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "application_train": APPLICATION_DRIFT,
    "application_test": APPLICATION_DRIFT,
    "bureau": ("AMT_CREDIT_SUM_DEBT",),
    "installments_payments": ("DAYS_ENTRY_PAYMENT",),
}
"""Columns whose values `--drift` changes, per table (CSV file stem)."""

RECOMPUTED_UNDER_DRIFT: dict[str, tuple[str, ...]] = {
    "application_train": ("TARGET",),
    "oracle": ("TRUE_PD",),
}
"""Columns that change under `--drift` only because they are derived from the drifted columns."""

YOUNGEST_DAYS_BIRTH = -7489.0  # the youngest applicant in Kaggle is about 20.5 years old
AGE_SHIFT_DAYS = 1826.0
INCOME_FACTOR = 0.8
EXT_SOURCE_2_FACTOR = 0.8
DEBT_FACTOR = 1.5
PAYMENT_DELAY_DAYS = 7.0


def drift_applications(app: dict[str, Column]) -> dict[str, Column]:
    """Poorer, younger applicants with lower external score 2; never so young that their unchanged
    employment, registration or documents would predate their birth (or employment their 16th year)."""
    employed = np.where(app["DAYS_EMPLOYED"] == DAY_SENTINEL, np.nan, app["DAYS_EMPLOYED"] - ADULT_DAYS)
    dated = [employed, *(app[c] for c in AFTER_BIRTH)]
    youngest = np.fmin.reduce([np.full(len(employed), YOUNGEST_DAYS_BIRTH), *dated])
    return {
        **app,
        "AMT_INCOME_TOTAL": np.round(app["AMT_INCOME_TOTAL"] * INCOME_FACTOR * 2) / 2,
        "DAYS_BIRTH": np.minimum(app["DAYS_BIRTH"] + AGE_SHIFT_DAYS, youngest),
        "EXT_SOURCE_2": app["EXT_SOURCE_2"] * EXT_SOURCE_2_FACTOR,
    }


def drift_bureau(bureau: dict[str, Column]) -> dict[str, Column]:
    """More outstanding debt on the same credits."""
    return {**bureau, "AMT_CREDIT_SUM_DEBT": np.round(bureau["AMT_CREDIT_SUM_DEBT"] * DEBT_FACTOR, 1)}


def drift_installments(installments: dict[str, Column]) -> dict[str, Column]:
    """Every payment a week later (never after today)."""
    later = np.minimum(installments["DAYS_ENTRY_PAYMENT"] + PAYMENT_DELAY_DAYS, 0.0)
    return {**installments, "DAYS_ENTRY_PAYMENT": later}
