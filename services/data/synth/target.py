"""The true default probability (the oracle) and TARGET, computed from the written rows only.

Risk is read back from what a model can see (application fields and aggregates of the history rows),
so the oracle is the best any model can do, and `--drift` moves it through the drifted columns alone.
Shape follows the competition's public findings: external scores strongest and monotone, then age,
employment, credit term and goods gap, instalment lateness and short payments, bureau debt and recent
credits, refusals, card utilisation and days past due; gender, car and region rating weaker. A few
non-linear terms and interactions leave room for boosted trees over a logistic regression.
"""

import numpy as np

from services.data.synth.profile import Column, Text
from services.data.synth.rows import per_owner_max, per_owner_mean, per_owner_sum, sigmoid

INTERCEPT = -4.06  # puts prevalence near 8%
SIGNAL_SCALE = 0.38  # puts the oracle's AUC near 0.81, like the best models on the real data
DAYS_PER_YEAR = 365.25
RECENT_CREDIT_DAYS = 730
EXT_WEIGHTS = {"EXT_SOURCE_1": 0.45, "EXT_SOURCE_2": 0.6, "EXT_SOURCE_3": 0.65}
EXT_CENTRE = 0.52


def _centred_logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, 0.01, 0.99)
    return np.log(clipped / (1 - clipped)) - np.log(EXT_CENTRE / (1 - EXT_CENTRE))


def application_logit(app: dict[str, Column]) -> np.ndarray:
    """Risk from application fields; a missing external score contributes nothing."""
    ext = {name: np.nan_to_num(-_centred_logit(app[name])) for name in EXT_WEIGHTS}
    age = -app["DAYS_BIRTH"] / DAYS_PER_YEAR
    employed = np.where(app["DAYS_EMPLOYED"] == 365243, np.nan, -app["DAYS_EMPLOYED"] / DAYS_PER_YEAR)
    term = app["AMT_CREDIT"] / np.maximum(app["AMT_ANNUITY"], 1.0)
    goods_gap = app["AMT_CREDIT"] / np.maximum(app["AMT_GOODS_PRICE"], 1.0) - 1
    burden = app["AMT_ANNUITY"] / np.maximum(app["AMT_INCOME_TOTAL"], 1.0)
    young = np.clip((45 - age) / 10, -1.0, 2.5)
    low2, low3 = np.clip(ext["EXT_SOURCE_2"], 0, None), np.clip(ext["EXT_SOURCE_3"], 0, None)
    logit = sum(weight * ext[name] for name, weight in EXT_WEIGHTS.items())
    logit = logit + 0.35 * np.clip(ext["EXT_SOURCE_2"] - 1.0, 0, None) ** 2  # very low scores: extra risk
    logit = logit + 0.6 * low2 * low3  # two low scores compound
    logit = logit + 0.3 * young + 0.4 * young * ext["EXT_SOURCE_3"]  # scores matter more when young
    logit = logit + np.where(np.isnan(employed), -0.1, 0.4 * np.clip((3 - np.nan_to_num(employed)) / 3, 0, 1))
    logit = logit + 1.5 * np.exp(-(((term - 17) / 3) ** 2))  # mid-length terms are the riskiest
    logit = logit + 0.8 * (goods_gap > 0.15) + 0.6 * np.clip(goods_gap, 0, 0.5)
    logit = logit + 1.5 * np.clip(burden - 0.15, 0, 0.4) * np.where(low2 > 0.5, 2.0, 1.0)
    logit = logit + 0.2 * _flag(app["CODE_GENDER"], "M") - 0.15 * _flag(app["FLAG_OWN_CAR"], "Y")
    return logit + 0.15 * (app["REGION_RATING_CLIENT"] - 2)


def _flag(column: Text, value: str) -> np.ndarray:
    return column.is_in(value).astype(float)


def history_logit(tables: dict[str, dict[str, Column]], income: np.ndarray, first_id: int) -> np.ndarray:
    """Risk from aggregates of each client's history rows (0 for clients without such rows)."""
    n = len(income)
    inst, bureau, prev = tables["installments_payments"], tables["bureau"], tables["previous_application"]
    pos, card = tables["POS_CASH_balance"], tables["credit_card_balance"]
    who = {name: table["SK_ID_CURR"] - first_id for name, table in tables.items() if "SK_ID_CURR" in table}
    delay = inst["DAYS_ENTRY_PAYMENT"] - inst["DAYS_INSTALMENT"]
    late_share = per_owner_mean(who["installments_payments"], (delay > 0).astype(float), n)
    late_days = per_owner_mean(who["installments_payments"], np.clip(delay, 0, None), n)
    short_share = per_owner_mean(
        who["installments_payments"], (inst["AMT_PAYMENT"] < 0.99 * inst["AMT_INSTALMENT"]) * 1.0, n
    )
    active = bureau["CREDIT_ACTIVE"].is_in("Active")
    debt = per_owner_sum(
        who["bureau"], np.where(active, np.nan_to_num(bureau["AMT_CREDIT_SUM_DEBT"]), 0.0), n
    )
    recent = per_owner_sum(who["bureau"], (bureau["DAYS_CREDIT"] > -RECENT_CREDIT_DAYS) * 1.0, n)
    overdue = per_owner_max(who["bureau"], (bureau["CREDIT_DAY_OVERDUE"] > 0) * 1.0, n)
    refused = per_owner_sum(
        who["previous_application"], prev["NAME_CONTRACT_STATUS"].is_in("Refused") * 1.0, n
    )
    pos_late = per_owner_mean(who["POS_CASH_balance"], (pos["SK_DPD"] > 0) * 1.0, n)
    use = card["AMT_BALANCE"] / np.maximum(card["AMT_CREDIT_LIMIT_ACTUAL"], 1.0)
    card_use = per_owner_mean(who["credit_card_balance"], use, n)
    card_late = per_owner_max(who["credit_card_balance"], (card["SK_DPD"] > 0) * 1.0, n)
    return (
        2.2 * late_share
        + 0.35 * np.log1p(late_days)
        + 2.5 * short_share
        + 0.3 * np.log1p(debt / np.maximum(income, 1.0))
        + 0.12 * np.minimum(recent, 8)
        + 0.6 * overdue
        + 0.3 * np.minimum(refused, 5)
        + 0.5 * (pos_late > 0.05)
        + 1.0 * pos_late
        + 1.5 * late_share * ((card_use > 0.7) | (refused >= 2))  # late payers with other strain
        + 1.2 * np.clip(card_use - 0.3, 0, 0.8)
        + 0.4 * card_late
    )


def true_pd(app: dict[str, Column], tables: dict[str, dict[str, Column]], first_id: int) -> np.ndarray:
    risk = application_logit(app) + history_logit(tables, app["AMT_INCOME_TOTAL"], first_id)
    logit = INTERCEPT + SIGNAL_SCALE * risk
    return sigmoid(logit)
