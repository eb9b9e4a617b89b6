"""Every feature in words a person reads: the reason family it belongs to, a plain label and a unit.

Reasons are given per family (the mean, the minimum and one external score are one signal, said once),
so each feature belongs to exactly one family: the first rule matching its name. Labels of the history
aggregates are composed like their names (aggregation, quantity, rows), from the words below.
`catalogue()` covers the whole feature registry; a feature without a family or a label fails the tests.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from services.feature_definitions.catalog import FEATURES
from services.feature_definitions.spec import Feature

# How a value reads: score 0-1; share 0-1 as a percentage; ratio "3.2 times"; amount in currency units;
# count; years; days_ago a negative day count before the application, said as a positive duration; days
# a signed day count; flag yes/no; category a vocabulary value; number anything else.
Unit = Literal[
    "score", "share", "ratio", "amount", "count", "years", "days_ago", "days", "flag", "category", "number"
]


@dataclass(frozen=True)
class Family:
    key: str
    title: str  # as a reason's heading: "External credit scores"
    protected: bool = False  # never a reason given to a customer


@dataclass(frozen=True)
class Plain:
    family: str
    label: str  # lower case, no raw column names: "external score 3"
    unit: Unit


FAMILIES: tuple[Family, ...] = (
    Family("external_scores", "External credit scores"),
    Family("late_instalments", "Late instalment payments"),
    Family("underpaid_instalments", "Under-paid instalments"),
    Family("instalment_history", "Instalment repayment history"),
    Family("pos_arrears", "POS/cash loan arrears"),
    Family("pos_history", "POS/cash loan history"),
    Family("card", "Credit card utilisation and arrears"),
    Family("refused_previous", "Refused previous applications"),
    Family("previous_applications", "Previous applications"),
    Family("bureau_debt", "Bureau debt and overdue amounts"),
    Family("recent_bureau", "Recent bureau credits"),
    Family("bureau_history", "Bureau credit history"),
    Family("bureau_enquiries", "Credit bureau enquiries"),
    Family("loan_to_income", "Loan amount relative to income"),
    Family("term_annuity", "Loan term and annuity burden"),
    Family("age", "Age"),
    Family("employment", "Employment length"),
    Family("occupation", "Income type, occupation and education"),
    Family("household", "Family and household"),
    Family("home", "Home, building and car"),
    Family("documents_contact", "Documents and contact details"),
    Family("region", "Region"),
    Family("social_circle", "Defaults in the social circle"),
    Family("application", "Loan product and application timing"),
    Family("gender", "Gender", protected=True),
)
FAMILY_BY_KEY: dict[str, Family] = {f.key: f for f in FAMILIES}

# (family, name pattern), first match wins: specific rules before their table's catch-all.
_RULES: tuple[tuple[str, str], ...] = (
    ("gender", r"app_code_gender_code"),
    ("external_scores", r"app_ext_source_.*"),
    ("age", r"app_(days_birth|age_years)"),
    ("employment", r"app_(days_employed.*|employed_.*)"),
    (
        "loan_to_income",
        r"app_(amt_credit|amt_goods_price|amt_income_total|credit_to_income|goods_to_credit"
        r"|credit_minus_goods|income_per_.*)",
    ),
    ("term_annuity", r"app_(amt_annuity|annuity_.*|credit_term)"),
    ("social_circle", r"app_.*social_circle.*"),
    ("bureau_enquiries", r"app_(amt_req_credit_bureau_.*|credit_bureau_enquiries_total)"),
    ("region", r"app_(region_.*|reg_.*|live_.*)"),
    ("household", r"app_(cnt_children|cnt_fam_members|name_family_status_code|name_type_suite_code)"),
    ("occupation", r"app_(name_income_type|occupation_type|organization_type|name_education_type)_code"),
    ("application", r"app_(hour_appr_process_start|weekday_appr_process_start_code|name_contract_type_code)"),
    (
        "home",
        r"app_(.*_avg|totalarea_mode|.*_mode_code|name_housing_type_code|flag_own_realty_code"
        r"|flag_own_car_code|own_car_age|car_age_to_age)",
    ),
    ("documents_contact", r"app_.*"),
    ("late_instalments", r"instalments_.*_(days_past_due|days_before_due|is_late|is_late_30)_(mean|max|sum)"),
    (
        "underpaid_instalments",
        r"instalments_.*_(paid_to_owed|owed_minus_paid|is_underpaid)_(mean|min|max|std|sum)",
    ),
    ("instalment_history", r"instalments_.*"),
    ("pos_arrears", r"pos_.*_(dpd|dpd_tolerant|is_late)_(mean|max|sum)"),
    ("pos_history", r"pos_.*"),
    ("card", r"card_.*"),
    ("refused_previous", r"previous_(refused_.*|recent_refused_sum|last_refusal_days)"),
    ("previous_applications", r"previous_.*"),
    ("recent_bureau", r"bureau_(recent_.*|last_credit_days|.*_days_credit_(mean|min|max))"),
    (
        "bureau_debt",
        r"bureau_.*_(debt_.*|overdue_.*|days_overdue_.*|max_overdue_amount_.*|is_overdue_.*"
        r"|late_month_share_.*|worst_status_.*|recent_late_months_sum|status_[1-5]_months_sum|prolongations_sum)"
        r"|bureau_active_total_debt_to_credit",
    ),
    ("bureau_history", r"bureau_.*"),
)

_AGGREGATIONS = {"mean": "average", "min": "lowest", "max": "highest", "sum": "total", "std": "variation in"}
_PERIODS = {"hour": "hour", "day": "day", "week": "week", "mon": "month", "qrt": "quarter", "year": "year"}

# Rows of each history table's subsets.
_ROWS: dict[str, dict[str, str]] = {
    "bureau": {
        "all": "bureau credits",
        "active": "active bureau credits",
        "closed": "closed bureau credits",
        "recent": "bureau credits opened in the last year",
    },
    "previous": {
        "all": "previous applications",
        "approved": "approved previous applications",
        "refused": "refused previous applications",
        "recent": "previous applications of the last year",
    },
    "pos": {
        "all": "POS/cash loan months",
        "recent": "POS/cash loan months of the last year",
        "active": "active POS/cash loan months",
    },
    "instalments": {
        "all": "instalments",
        "last_year": "instalments of the last year",
        "last_quarter": "instalments of the last quarter",
    },
    "card": {"all": "credit card months", "recent": "credit card months of the last year"},
}

# Per-row quantities: (words, unit). A flag (1/0 per row) is a participle after the rows: the share
# (mean) or the number (sum) of "instalments of the last year" "paid late".
_QUANTITIES: dict[str, dict[str, tuple[str, Unit]]] = {
    "bureau": {
        "days_credit": ("time since the credit was opened", "days_ago"),
        "days_overdue": ("days overdue", "days"),
        "days_to_end": ("days to the planned end of the credit", "days"),
        "days_since_end": ("time since the credit ended", "days_ago"),
        "days_since_update": ("time since the bureau's last update", "days_ago"),
        "max_overdue_amount": ("largest amount ever overdue", "amount"),
        "prolongations": ("prolongations", "count"),
        "credit_amount": ("credit amount", "amount"),
        "debt_amount": ("debt", "amount"),
        "limit_amount": ("credit card limit", "amount"),
        "overdue_amount": ("amount overdue", "amount"),
        "annuity": ("annuity", "amount"),
        "debt_to_credit": ("debt as a share of the credit", "share"),
        "debt_to_limit": ("debt as a share of the limit", "share"),
        "overdue_to_debt": ("overdue amount as a share of the debt", "share"),
        "is_overdue": ("overdue", "flag"),
        "months_reported": ("months reported", "count"),
        "late_month_share": ("share of months reported late", "share"),
        "worst_status": ("worst lateness bucket (1 to 5)", "number"),
        "recent_late_months": ("months late in the last year", "count"),
        **{f"status_{s}_months": (f"months reported with status {s.upper()}", "count") for s in "012345cx"},
    },
    "previous": {
        "asked_amount": ("amount asked for", "amount"),
        "credit_amount": ("amount granted", "amount"),
        "annuity": ("annuity", "amount"),
        "down_payment": ("down payment", "amount"),
        "goods_price": ("goods price", "amount"),
        "asked_to_granted": ("amount asked relative to the amount granted", "ratio"),
        "annuity_to_credit": ("annuity as a share of the amount granted", "share"),
        "down_payment_rate": ("down payment rate", "share"),
        "payment_count": ("number of planned payments", "count"),
        "days_decision": ("time since the decision", "days_ago"),
        "days_first_due": ("time since the first due date", "days_ago"),
        "days_last_due": ("time since the last due date", "days_ago"),
        "days_termination": ("time since the planned end", "days_ago"),
        "hour_started": ("hour of day the application was started", "number"),
        "insured": ("with insurance", "flag"),
        "refused": ("refused", "flag"),
    },
    "pos": {
        "months_balance": ("months before the application", "count"),
        "instalments": ("loan term in instalments", "count"),
        "instalments_left": ("instalments left to pay", "count"),
        "share_left": ("share of the term left to pay", "share"),
        "dpd": ("days past due", "days"),
        "dpd_tolerant": ("days past due on non-trivial debts", "days"),
        "is_late": ("paid late", "flag"),
        "is_completed": ("marked completed", "flag"),
    },
    "instalments": {
        "days_past_due": ("days paid late", "days"),
        "days_before_due": ("days paid early", "days"),
        "is_late": ("paid late", "flag"),
        "is_late_30": ("paid over 30 days late", "flag"),
        "paid_to_owed": ("amount paid as a share of the amount owed", "share"),
        "owed_minus_paid": ("amount owed minus amount paid", "amount"),
        "is_underpaid": ("paid less than owed", "flag"),
        "owed": ("amount owed", "amount"),
        "paid": ("amount paid", "amount"),
        "days_due": ("time since the due date", "days_ago"),
        "version": ("instalment calendar version", "number"),
        "number": ("instalment number", "count"),
    },
    "card": {
        "balance": ("card balance", "amount"),
        "limit": ("card limit", "amount"),
        "utilisation": ("card utilisation (balance as a share of the limit)", "share"),
        "drawings": ("amount drawn", "amount"),
        "atm_drawings": ("amount drawn at ATMs", "amount"),
        "pos_drawings": ("amount spent in shops", "amount"),
        "other_drawings": ("other drawings", "amount"),
        "drawing_count": ("number of drawings", "count"),
        "atm_drawing_count": ("number of ATM drawings", "count"),
        "pos_drawing_count": ("number of shop payments", "count"),
        "minimum_payment": ("minimum instalment", "amount"),
        "payment": ("amount paid", "amount"),
        "payment_to_minimum": ("payment relative to the minimum instalment", "ratio"),
        "is_below_minimum": ("paid below the minimum", "flag"),
        "receivable": ("amount receivable", "amount"),
        "principal_receivable": ("principal receivable", "amount"),
        "mature_instalments": ("instalments paid so far", "count"),
        "dpd": ("days past due", "days"),
        "dpd_tolerant": ("days past due on non-trivial debts", "days"),
        "is_late": ("paid late", "flag"),
    },
}

# History features outside the (rows, quantity, aggregation) pattern, and every application feature
# not covered by a pattern below.
_LABELS: dict[str, tuple[str, Unit]] = {
    "bureau_type_consumer_credit_count": ("number of consumer credits at the bureau", "count"),
    "bureau_type_credit_card_count": ("number of credit cards at the bureau", "count"),
    "bureau_type_car_loan_count": ("number of car loans at the bureau", "count"),
    "bureau_type_mortgage_count": ("number of mortgages at the bureau", "count"),
    "bureau_type_microloan_count": ("number of microloans at the bureau", "count"),
    "bureau_active_share": ("share of bureau credits still active", "share"),
    "bureau_active_total_debt_to_credit": (
        "debt on active bureau credits as a share of their amount",
        "share",
    ),
    "bureau_last_credit_days": ("time since the latest bureau credit was opened", "days_ago"),
    "previous_canceled_count": ("number of cancelled previous applications", "count"),
    "previous_unused_offer_count": ("number of unused previous offers", "count"),
    "previous_type_cash_loans_count": ("number of previous cash loan applications", "count"),
    "previous_type_consumer_loans_count": ("number of previous consumer loan applications", "count"),
    "previous_type_revolving_loans_count": ("number of previous revolving loan applications", "count"),
    "previous_refused_share": ("share of previous applications refused", "share"),
    "previous_last_decision_days": ("time since the latest previous application", "days_ago"),
    "previous_last_refusal_days": ("time since the latest refusal", "days_ago"),
    "previous_last_approval_days": ("time since the latest approval", "days_ago"),
    "previous_recent_refused_sum": ("number of refusals in the last year", "count"),
    "pos_loan_count": ("number of POS/cash loans", "count"),
    "pos_completed_loan_count": ("number of completed POS/cash loans", "count"),
    "pos_completed_loan_share": ("share of POS/cash loans completed", "share"),
    "pos_latest_instalments_left_sum": ("instalments left on current POS/cash loans", "count"),
    "card_count": ("number of credit cards", "count"),
    "card_months_reported": ("months of credit card history", "count"),
    "app_cnt_children": ("number of children", "count"),
    "app_amt_income_total": ("yearly income", "amount"),
    "app_amt_credit": ("credit amount asked for", "amount"),
    "app_amt_annuity": ("annuity of the loan", "amount"),
    "app_amt_goods_price": ("price of the goods financed", "amount"),
    "app_region_population_relative": ("population density of the region (relative)", "number"),
    "app_days_birth": ("age", "days_ago"),
    "app_days_employed": ("time in the current job", "days_ago"),
    "app_days_registration": ("time since the registration changed", "days_ago"),
    "app_days_id_publish": ("time since the identity document changed", "days_ago"),
    "app_own_car_age": ("age of the car", "years"),
    "app_flag_mobil": ("mobile phone given", "flag"),
    "app_flag_emp_phone": ("work phone given", "flag"),
    "app_flag_work_phone": ("home phone given", "flag"),
    "app_flag_cont_mobile": ("mobile phone reachable", "flag"),
    "app_flag_phone": ("landline phone given", "flag"),
    "app_flag_email": ("e-mail address given", "flag"),
    "app_cnt_fam_members": ("number of family members", "count"),
    "app_region_rating_client": ("rating of the region (1 best, 3 worst)", "number"),
    "app_region_rating_client_w_city": ("rating of the region and city (1 best, 3 worst)", "number"),
    "app_hour_appr_process_start": ("hour of day the application was made", "number"),
    "app_reg_region_not_live_region": ("registered in another region than lived in", "flag"),
    "app_reg_region_not_work_region": ("registered in another region than worked in", "flag"),
    "app_live_region_not_work_region": ("lives in another region than works in", "flag"),
    "app_reg_city_not_live_city": ("registered in another city than lived in", "flag"),
    "app_reg_city_not_work_city": ("registered in another city than worked in", "flag"),
    "app_live_city_not_work_city": ("lives in another city than works in", "flag"),
    "app_ext_source_1": ("external score 1", "score"),
    "app_ext_source_2": ("external score 2", "score"),
    "app_ext_source_3": ("external score 3", "score"),
    "app_totalarea_mode": ("total area of the building (relative)", "number"),
    "app_obs_30_cnt_social_circle": ("social-circle contacts observed (30 days)", "count"),
    "app_def_30_cnt_social_circle": ("social-circle contacts in default (30 days)", "count"),
    "app_obs_60_cnt_social_circle": ("social-circle contacts observed (60 days)", "count"),
    "app_def_60_cnt_social_circle": ("social-circle contacts in default (60 days)", "count"),
    "app_days_last_phone_change": ("time since the phone number changed", "days_ago"),
    "app_days_employed_is_placeholder": ("no current employment (pensioner or unemployed)", "flag"),
    "app_credit_to_income": ("credit amount relative to yearly income", "ratio"),
    "app_annuity_to_income": ("annuity as a share of yearly income", "share"),
    "app_annuity_to_credit": ("annuity as a share of the credit amount", "share"),
    "app_credit_term": ("loan term in annuities", "count"),
    "app_goods_to_credit": ("goods price as a share of the credit amount", "share"),
    "app_credit_minus_goods": ("credit amount above the goods price", "amount"),
    "app_employed_to_age": ("share of life in the current job", "share"),
    "app_age_years": ("age", "years"),
    "app_employed_years": ("time in the current job", "years"),
    "app_registration_to_age": ("time since the registration changed, relative to age", "share"),
    "app_id_publish_to_age": ("time since the identity document changed, relative to age", "share"),
    "app_phone_change_to_age": ("time since the phone number changed, relative to age", "share"),
    "app_car_age_to_age": ("age of the car relative to the client's age", "share"),
    "app_income_per_family_member": ("yearly income per family member", "amount"),
    "app_income_per_child": ("yearly income per child (plus one)", "amount"),
    "app_annuity_per_family_member": ("annuity per family member", "amount"),
    "app_ext_source_mean": ("average external score", "score"),
    "app_ext_source_min": ("lowest external score", "score"),
    "app_ext_source_max": ("highest external score", "score"),
    "app_ext_source_std": ("spread of the external scores", "score"),
    "app_ext_source_product": ("product of the three external scores", "score"),
    "app_ext_source_missing_count": ("number of external scores missing", "count"),
    "app_document_count": ("number of documents provided", "count"),
    "app_missing_field_count": ("number of application fields left empty", "count"),
    "app_social_circle_default_rate_30": ("share of social-circle contacts in default (30 days)", "share"),
    "app_social_circle_default_rate_60": ("share of social-circle contacts in default (60 days)", "share"),
    "app_credit_bureau_enquiries_total": ("credit bureau enquiries, all periods", "count"),
    "app_region_rating_difference": ("city rating minus region rating", "number"),
}
_BUILDING_WORDS = {
    "apartments": "apartment size",
    "basementarea": "basement area",
    "years_beginexpluatation": "years in use",
    "years_build": "age",
    "commonarea": "common area",
    "elevators": "lifts",
    "entrances": "entrances",
    "floorsmax": "highest floor",
    "floorsmin": "lowest floor",
    "landarea": "land area",
    "livingapartments": "living apartments",
    "livingarea": "living area",
    "nonlivingapartments": "non-living apartments",
    "nonlivingarea": "non-living area",
}
_CATEGORY_WORDS = {
    "name_contract_type": "loan product",
    "code_gender": "gender",
    "flag_own_car": "owns a car",
    "flag_own_realty": "owns a home",
    "name_type_suite": "accompanied by",
    "name_income_type": "income type",
    "name_education_type": "education",
    "name_family_status": "family status",
    "name_housing_type": "housing",
    "occupation_type": "occupation",
    "weekday_appr_process_start": "weekday of the application",
    "organization_type": "employer type",
    "fondkapremont_mode": "building repair fund",
    "housetype_mode": "building type",
    "wallsmaterial_mode": "wall material",
    "emergencystate_mode": "building in emergency state",
}


def family_of(name: str) -> str | None:
    return next((family for family, pattern in _RULES if re.fullmatch(pattern, name)), None)


def label_of(name: str) -> tuple[str, Unit] | None:
    """The feature in words and its unit; None when no wording applies (a test then fails)."""
    if name in _LABELS:
        return _LABELS[name]
    if match := re.fullmatch(r"app_(?P<column>.+)_code", name):
        words = _CATEGORY_WORDS.get(match["column"])
        return (words, "category") if words else None
    if match := re.fullmatch(r"app_flag_document_(\d+)", name):
        return f"document {match[1]} provided", "flag"
    if match := re.fullmatch(r"app_amt_req_credit_bureau_(\w+)", name):
        return f"credit bureau enquiries in the {_PERIODS[match[1]]} before applying", "count"
    if match := re.fullmatch(r"app_(\w+)_avg", name):
        return f"{_BUILDING_WORDS[match[1]]} of the building (relative)", "number"
    return _aggregate_label(name)


def _aggregate_label(name: str) -> tuple[str, Unit] | None:
    prefix, _, rest = name.partition("_")
    for subset, rows in _ROWS.get(prefix, {}).items():
        if not rest.startswith(f"{subset}_"):
            continue
        tail = rest.removeprefix(f"{subset}_")
        if tail == "count":
            return f"number of {rows}", "count"
        quantity, _, aggregation = tail.rpartition("_")
        words = _QUANTITIES[prefix].get(quantity)
        if words is None or aggregation not in _AGGREGATIONS:
            return None
        noun, unit = words
        if unit == "flag":
            return (
                (f"share of {rows} {noun}", "share")
                if aggregation == "mean"
                else (f"number of {rows} {noun}", "count")
            )
        return f"{_AGGREGATIONS[aggregation]} {noun} over {rows}", unit
    return None


def plain_words(features: Sequence[Feature]) -> dict[str, Plain]:
    """Each feature's family, label and unit; raises naming the features left without one."""
    found: dict[str, Plain] = {}
    missing = []
    for feature in features:
        family, words = family_of(feature.name), label_of(feature.name)
        if family is None or words is None:
            missing.append(feature.name)
            continue
        label, unit = words
        found[feature.name] = Plain(family, label, "flag" if feature.kind == "flag" else unit)
    if missing:
        raise ValueError(f"{len(missing)} features have no family or label: {missing[:10]}")
    return found


@cache
def catalogue() -> dict[str, Plain]:
    """The whole feature registry in plain words."""
    return plain_words(FEATURES)


def protected_features() -> tuple[str, ...]:
    """Features of protected families (gender): out of the model by default, never a reason."""
    return tuple(name for name, plain in catalogue().items() if FAMILY_BY_KEY[plain.family].protected)
