"""Features of the application itself: raw fields, category codes, ratios and summary counts."""

from collections.abc import Mapping, Sequence

import polars as pl

from services.feature_definitions.raw import APPLICATION_SPEC
from services.feature_definitions.spec import DAYS_SENTINEL, Feature, ratio, without_sentinel
from services.feature_definitions.vocabularies import VOCABULARIES

_DESCRIPTIONS: dict[str, str] = {
    "CNT_CHILDREN": "Number of children of the client",
    "AMT_INCOME_TOTAL": "Declared yearly income of the client",
    "AMT_CREDIT": "Credit amount asked for",
    "AMT_ANNUITY": "Annuity (periodic repayment) of the loan",
    "AMT_GOODS_PRICE": "Price of the goods the consumer loan pays for",
    "REGION_POPULATION_RELATIVE": "Normalised population of the client's region (higher = more populated)",
    "DAYS_BIRTH": "Client's age in days, negative, relative to the application",
    "DAYS_EMPLOYED": "Days since the current employment started (365243 placeholder turned into missing)",
    "DAYS_REGISTRATION": "Days since the client last changed registration",
    "DAYS_ID_PUBLISH": "Days since the client changed the identity document used to apply",
    "OWN_CAR_AGE": "Age of the client's car in years",
    "FLAG_MOBIL": "Client gave a mobile phone",
    "FLAG_EMP_PHONE": "Client gave a work phone of the employer",
    "FLAG_WORK_PHONE": "Client gave a home phone",
    "FLAG_CONT_MOBILE": "Mobile phone was reachable",
    "FLAG_PHONE": "Client gave a personal phone",
    "FLAG_EMAIL": "Client gave an e-mail address",
    "CNT_FAM_MEMBERS": "Number of family members",
    "REGION_RATING_CLIENT": "Home Credit's rating of the client's region (1-3)",
    "REGION_RATING_CLIENT_W_CITY": "Home Credit's rating of the region, city taken into account (1-3)",
    "HOUR_APPR_PROCESS_START": "Hour of day the application was started",
    "REG_REGION_NOT_LIVE_REGION": "Permanent address region differs from contact address region",
    "REG_REGION_NOT_WORK_REGION": "Permanent address region differs from work address region",
    "LIVE_REGION_NOT_WORK_REGION": "Contact address region differs from work address region",
    "REG_CITY_NOT_LIVE_CITY": "Permanent address city differs from contact address city",
    "REG_CITY_NOT_WORK_CITY": "Permanent address city differs from work address city",
    "LIVE_CITY_NOT_WORK_CITY": "Contact address city differs from work address city",
    "EXT_SOURCE_1": "Normalised score from external data source 1",
    "EXT_SOURCE_2": "Normalised score from external data source 2",
    "EXT_SOURCE_3": "Normalised score from external data source 3",
    "OBS_30_CNT_SOCIAL_CIRCLE": "Observations of the client's social circle with 30 days-past-due visibility",
    "DEF_30_CNT_SOCIAL_CIRCLE": "Defaults at 30 days past due in the client's social circle",
    "OBS_60_CNT_SOCIAL_CIRCLE": "Observations of the client's social circle with 60 days-past-due visibility",
    "DEF_60_CNT_SOCIAL_CIRCLE": "Defaults at 60 days past due in the client's social circle",
    "DAYS_LAST_PHONE_CHANGE": "Days since the client last changed phone",
}
_PERIOD = {"HOUR": "hour", "DAY": "day", "WEEK": "week", "MON": "month", "QRT": "quarter", "YEAR": "year"}

NUMERIC_COLUMNS = tuple(c for c in APPLICATION_SPEC.columns if APPLICATION_SPEC.kind(c) == "number")
# Building fields come as average, mode and median of near-identical values; the averages carry them.
RAW_COLUMNS = tuple(c for c in NUMERIC_COLUMNS if not c.endswith(("_MODE", "_MEDI")) or c == "TOTALAREA_MODE")
DOCUMENT_COLUMNS = tuple(c.lower() for c in NUMERIC_COLUMNS if c.startswith("FLAG_DOCUMENT_"))
EXT_SOURCES = [pl.col("ext_source_1"), pl.col("ext_source_2"), pl.col("ext_source_3")]


def _describe(column: str) -> str:
    if column in _DESCRIPTIONS:
        return _DESCRIPTIONS[column]
    if column.startswith("FLAG_DOCUMENT_"):
        return f"Client provided document number {column.removeprefix('FLAG_DOCUMENT_')}"
    if column.startswith("AMT_REQ_CREDIT_BUREAU_"):
        period = _PERIOD[column.removeprefix("AMT_REQ_CREDIT_BUREAU_")]
        return f"Enquiries to the credit bureau about the client in the {period} before the application"
    if column == "TOTALAREA_MODE":
        return "Normalised total area of the client's building (mode)"
    thing = column.removesuffix("_AVG").lower()
    return f"Normalised building information {thing} of the client's home (average)"


def _raw_feature(column: str) -> Feature:
    name = column.lower()
    expr = without_sentinel(name) if column.startswith("DAYS_") else pl.col(name)
    kind = "flag" if column.startswith(("FLAG_", "REG_", "LIVE_")) else "continuous"
    return Feature(f"app_{name}", kind, _describe(column), expr)


def category_code(column: str) -> pl.Expr:
    """Index in the fixed vocabulary; missing stays missing, unseen values get the code len(vocabulary)."""
    vocabulary = VOCABULARIES[column]
    codes = pl.col(column).replace_strict(vocabulary, list(range(len(vocabulary))), default=len(vocabulary))
    return pl.when(pl.col(column).is_null()).then(None).otherwise(codes).cast(pl.Float64)


def _category_feature(column: str) -> Feature:
    size = len(VOCABULARIES[column])
    description = f"Code of {column.upper()} in its fixed vocabulary of {size} values ({size} = unseen value)"
    return Feature(f"app_{column}_code", "categorical", description, category_code(column))


def unseen_categories(applications: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """Per categorical column, how many values of the applications (lower-case keys) fall outside the
    vocabulary (they are coded as unknown)."""
    counts = {
        column: sum(1 for row in applications if row.get(column) is not None and row[column] not in vocab)
        for column, vocab in VOCABULARIES.items()
    }
    return {column: count for column, count in counts.items() if count}


_income = pl.col("amt_income_total")
_credit = pl.col("amt_credit")
_annuity = pl.col("amt_annuity")
_goods = pl.col("amt_goods_price")
_age = pl.col("days_birth")
_employed = without_sentinel("days_employed")
_documents = pl.sum_horizontal(pl.col(list(DOCUMENT_COLUMNS)).fill_null(0))

DERIVED: list[Feature] = [
    Feature(
        "app_days_employed_is_placeholder",
        "flag",
        "DAYS_EMPLOYED held the 365243 placeholder (pensioners, unemployed)",
        (pl.col("days_employed") == DAYS_SENTINEL).cast(pl.Float64),
    ),
    Feature(
        "app_credit_to_income",
        "continuous",
        "Credit amount divided by yearly income",
        ratio(_credit, _income),
    ),
    Feature(
        "app_annuity_to_income", "continuous", "Annuity divided by yearly income", ratio(_annuity, _income)
    ),
    Feature(
        "app_annuity_to_credit", "continuous", "Annuity divided by credit amount", ratio(_annuity, _credit)
    ),
    Feature(
        "app_credit_term",
        "continuous",
        "Credit amount divided by annuity (number of payments)",
        ratio(_credit, _annuity),
    ),
    Feature(
        "app_goods_to_credit", "continuous", "Goods price divided by credit amount", ratio(_goods, _credit)
    ),
    Feature(
        "app_credit_minus_goods",
        "continuous",
        "Credit amount minus goods price (financed extras)",
        _credit - _goods,
    ),
    Feature(
        "app_employed_to_age", "continuous", "Employment length as a share of age", ratio(_employed, _age)
    ),
    Feature("app_age_years", "continuous", "Client's age in years", -_age / 365.25),
    Feature("app_employed_years", "continuous", "Employment length in years", -_employed / 365.25),
    Feature(
        "app_registration_to_age",
        "continuous",
        "Days since registration change as a share of age",
        ratio(pl.col("days_registration"), _age),
    ),
    Feature(
        "app_id_publish_to_age",
        "continuous",
        "Days since identity document change as a share of age",
        ratio(pl.col("days_id_publish"), _age),
    ),
    Feature(
        "app_phone_change_to_age",
        "continuous",
        "Days since phone change as a share of age",
        ratio(pl.col("days_last_phone_change"), _age),
    ),
    Feature(
        "app_car_age_to_age",
        "continuous",
        "Car age as a share of the client's age (both in years)",
        ratio(pl.col("own_car_age"), -_age / 365.25),
    ),
    Feature(
        "app_income_per_family_member",
        "continuous",
        "Yearly income divided by family members",
        ratio(_income, pl.col("cnt_fam_members")),
    ),
    Feature(
        "app_income_per_child",
        "continuous",
        "Yearly income divided by one plus the number of children",
        ratio(_income, 1 + pl.col("cnt_children")),
    ),
    Feature(
        "app_annuity_per_family_member",
        "continuous",
        "Annuity divided by family members",
        ratio(_annuity, pl.col("cnt_fam_members")),
    ),
    Feature(
        "app_ext_source_mean",
        "continuous",
        "Mean of the available external scores",
        pl.mean_horizontal(EXT_SOURCES),
    ),
    Feature(
        "app_ext_source_min", "continuous", "Lowest available external score", pl.min_horizontal(EXT_SOURCES)
    ),
    Feature(
        "app_ext_source_max", "continuous", "Highest available external score", pl.max_horizontal(EXT_SOURCES)
    ),
    Feature(
        "app_ext_source_std",
        "continuous",
        "Population standard deviation of the available external scores",
        pl.concat_list(EXT_SOURCES).list.drop_nulls().list.std(ddof=0),
    ),
    Feature(
        "app_ext_source_product",
        "continuous",
        "Product of the three external scores (missing if any is)",
        EXT_SOURCES[0] * EXT_SOURCES[1] * EXT_SOURCES[2],
    ),
    Feature(
        "app_ext_source_missing_count",
        "continuous",
        "Number of missing external scores",
        pl.sum_horizontal(e.is_null() for e in EXT_SOURCES).cast(pl.Float64),
    ),
    Feature(
        "app_document_count",
        "continuous",
        "Number of documents the client provided",
        _documents.cast(pl.Float64),
    ),
    Feature(
        "app_missing_field_count",
        "continuous",
        "Number of application fields left empty",
        pl.sum_horizontal(pl.all().exclude("sk_id_curr").is_null()).cast(pl.Float64),
    ),
    Feature(
        "app_social_circle_default_rate_30",
        "continuous",
        "Share of observed social-circle contacts in default at 30 days past due",
        ratio(pl.col("def_30_cnt_social_circle"), pl.col("obs_30_cnt_social_circle")),
    ),
    Feature(
        "app_social_circle_default_rate_60",
        "continuous",
        "Share of observed social-circle contacts in default at 60 days past due",
        ratio(pl.col("def_60_cnt_social_circle"), pl.col("obs_60_cnt_social_circle")),
    ),
    Feature(
        "app_credit_bureau_enquiries_total",
        "continuous",
        "Credit bureau enquiries over all periods",
        pl.sum_horizontal(pl.col("^amt_req_credit_bureau_.*$")).cast(pl.Float64),
    ),
    Feature(
        "app_region_rating_difference",
        "continuous",
        "City-adjusted region rating minus region rating",
        pl.col("region_rating_client_w_city") - pl.col("region_rating_client"),
    ),
]

FEATURES: list[Feature] = [
    *(_raw_feature(column) for column in RAW_COLUMNS),
    *(_category_feature(column) for column in VOCABULARIES),
    *DERIVED,
]


def compute(application: pl.DataFrame) -> pl.DataFrame:
    """sk_id_curr plus every application feature, one row per application."""
    return application.select(
        pl.col("sk_id_curr"), *(f.expr.cast(pl.Float64).alias(f.name) for f in FEATURES)
    )
