"""Application rows (application_train / application_test) for a chunk of clients.

Every column is first drawn from the real sample's profile; the columns that carry risk or real
structure are then drawn explicitly: external scores, age and employment tilt with the client's latent
risk; pensioners get the 365243 sentinel and XNA organisation; no car means no car age; building
columns are missing together; credit, annuity and goods price keep real ratios.
"""

import numpy as np

from services.data.domains import ADULT_DAYS
from services.data.synth.profile import (
    Column,
    Text,
    column,
    from_quantiles,
    gaussian_uniform,
    number,
    profile,
    with_missing,
)
from services.data.synth.profile import spec as column_spec
from services.data.synth.profile import text as draw_text
from services.data.tables import TABLES_BY_NAME

TABLE = "application"
BUILDING_SUFFIXES = ("_AVG", "_MODE", "_MEDI")
BUILDING_TEXT = (
    "FONDKAPREMONT_MODE",
    "HOUSETYPE_MODE",
    "TOTALAREA_MODE",
    "WALLSMATERIAL_MODE",
    "EMERGENCYSTATE_MODE",
)
SOCIAL_CIRCLE = (
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "OBS_60_CNT_SOCIAL_CIRCLE",
    "DEF_60_CNT_SOCIAL_CIRCLE",
)
NO_JOB = ("Pensioner", "Unemployed")
# How strongly each external score's normal score follows the client's (negated) latent risk.
EXT_SOURCE_WEIGHTS = {"EXT_SOURCE_1": 0.55, "EXT_SOURCE_2": 0.6, "EXT_SOURCE_3": 0.6}
AFTER_BIRTH = ("DAYS_REGISTRATION", "DAYS_ID_PUBLISH", "DAYS_LAST_PHONE_CHANGE")


def spec(column: str) -> dict:
    return column_spec(TABLE, column)


def _building_base(name: str) -> str | None:
    for suffix in BUILDING_SUFFIXES:
        if name.endswith(suffix) and name not in BUILDING_TEXT:
            return name.removesuffix(suffix)
    return None


def generic(rng: np.random.Generator, n: int) -> dict[str, Column]:
    """All columns as profiled; one missingness uniform per block so blocks are missing together."""
    columns = TABLES_BY_NAME["application_train"].columns
    block_u = {"building": rng.random(n), "social": rng.random(n), "bureau_requests": rng.random(n)}
    building_u: dict[str, np.ndarray] = {}
    out: dict[str, Column] = {}
    for name in columns[2:]:
        base = _building_base(name)
        if base is not None:
            if base not in building_u:  # AVG, MODE and MEDI of one building share their uniform
                building_u[base] = rng.random(n)
            values = number(rng, spec(name), building_u[base])
            out[name] = with_missing(values, block_u["building"] < spec(name)["missing"])
        elif name in BUILDING_TEXT:
            out[name] = column(rng, spec(name), n, block_u["building"])
        elif name in SOCIAL_CIRCLE:
            out[name] = column(rng, spec(name), n, block_u["social"])
        elif name.startswith("AMT_REQ_CREDIT_BUREAU_"):
            out[name] = column(rng, spec(name), n, block_u["bureau_requests"])
        else:
            out[name] = column(rng, spec(name), n)
    return out


def scores(rng: np.random.Generator, risk: np.ndarray) -> dict[str, Column]:
    """External scores: higher = safer, each a noisy view of the latent risk, missing at real rates."""
    out: dict[str, Column] = {}
    for name, weight in EXT_SOURCE_WEIGHTS.items():
        values = number(rng, spec(name), gaussian_uniform(rng, -risk, weight))
        out[name] = with_missing(values, rng.random(len(risk)) < spec(name)["missing"])
    return out


def work(rng: np.random.Generator, risk: np.ndarray, income_type: Text) -> dict[str, Column]:
    """Age, employment, organisation, occupation: pensioners are older and carry the real quirks."""
    n = len(risk)
    no_job = income_type.is_in(*NO_JOB)
    age_u = gaussian_uniform(rng, risk, 0.2)
    days_birth = number(rng, spec("DAYS_BIRTH"), np.where(no_job, age_u * 0.3, age_u))
    employed_u = gaussian_uniform(rng, risk, 0.25)
    days_employed = from_quantiles(spec("DAYS_EMPLOYED")["quantiles"], employed_u, False)
    days_employed = np.maximum(days_employed, days_birth + ADULT_DAYS)
    organisation = draw_text(rng, _without(spec("ORGANIZATION_TYPE"), "XNA"), n)
    occupation = draw_text(rng, spec("OCCUPATION_TYPE"), n)
    occupation_missing = rng.random(n) < _missing_among_workers(no_job)
    return {
        "DAYS_BIRTH": days_birth,
        "DAYS_EMPLOYED": np.where(no_job, 365243.0, days_employed),
        "ORGANIZATION_TYPE": Text(
            np.where(no_job, organisation.vocab.index("XNA"), organisation.codes), organisation.vocab
        ),
        "OCCUPATION_TYPE": with_missing(occupation, no_job | occupation_missing),
        "FLAG_EMP_PHONE": np.where(no_job, 0, 1),
    }


def _without(text_spec: dict, value: str) -> dict:
    """Same vocabulary, but `value` never drawn (it stays in the vocabulary for explicit use)."""
    weights = [
        0.0 if v == value else w for v, w in zip(text_spec["values"], text_spec["weights"], strict=True)
    ]
    return {**text_spec, "weights": weights}


def _missing_among_workers(no_job: np.ndarray) -> float:
    """Occupation is always blank without a job; the rest of its real missing share falls on workers."""
    no_job_share = float(np.mean(no_job)) if len(no_job) else 0.0
    overall = spec("OCCUPATION_TYPE")["missing"]
    return max(0.0, (overall - no_job_share) / max(1e-9, 1.0 - no_job_share))


def money(rng: np.random.Generator, risk: np.ndarray) -> dict[str, Column]:
    """Income, goods price, credit and annuity with real term and goods-gap distributions."""
    shared = rng.standard_normal(len(risk))
    income = number(rng, spec("AMT_INCOME_TOTAL"), gaussian_uniform(rng, shared, 0.5))
    goods = number(rng, spec("AMT_GOODS_PRICE"), gaussian_uniform(rng, shared, 0.5))
    derived = profile()["derived"]
    gap = from_quantiles(derived["CREDIT_GOODS_RATIO"], gaussian_uniform(rng, risk, 0.15), True)
    credit = np.round(goods * np.clip(gap, 1.0, None) * 2) / 2
    term = from_quantiles(derived["CREDIT_TERM"], rng.random(len(risk)), True)
    return {
        "AMT_INCOME_TOTAL": income,
        "AMT_GOODS_PRICE": goods,
        "AMT_CREDIT": credit,
        "AMT_ANNUITY": np.round(credit / term * 2) / 2,
    }


def household(rng: np.random.Generator, base: dict[str, Column]) -> dict[str, Column]:
    """Car age only with a car; family size from children and partner; city rating near the region's."""
    n = len(base["CNT_CHILDREN"])
    has_car = base["FLAG_OWN_CAR"].is_in("Y")
    car_age = number(rng, spec("OWN_CAR_AGE"), rng.random(n))
    partner = base["NAME_FAMILY_STATUS"].is_in("Married", "Civil marriage")
    rating = base["REGION_RATING_CLIENT"]
    city_differs = rng.random(n) < 0.1
    return {
        "OWN_CAR_AGE": np.where(has_car, car_age, np.nan),
        "CNT_FAM_MEMBERS": base["CNT_CHILDREN"] + np.where(partner, 2.0, 1.0),
        "REGION_RATING_CLIENT_W_CITY": np.where(city_differs, base["REGION_RATING_CLIENT_W_CITY"], rating),
    }


def applications(rng: np.random.Generator, risk: np.ndarray) -> dict[str, Column]:
    """All application columns except SK_ID_CURR and TARGET, one row per client."""
    out = generic(rng, len(risk))
    out.update(scores(rng, risk))
    out.update(work(rng, risk, out["NAME_INCOME_TYPE"]))
    out.update(money(rng, risk))
    out.update(household(rng, out))
    for name in AFTER_BIRTH:  # drawn independently of age: not dated before the applicant's birth
        out[name] = np.maximum(out[name], out["DAYS_BIRTH"])
    return out
