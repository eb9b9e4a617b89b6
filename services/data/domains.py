"""What a raw value of each Kaggle column can be: the one definition of impossible input.

Every column of the application tables and of the six history tables has a Domain (kind, range or
allowed values, nullability, legal sentinels) and a few cross-field rules hold between columns of one
row. Bounds come from what the column descriptions and the real rows say is *possible* (an age of 130
years, a negative income, an external score of 3): the extremes of a sample are never a bound, since a
rare but possible value is "unusual" (the model's training range), not invalid. The request schemas, batch
scoring and the loader all apply this module; docs/domains.md is generated from it (`domain_table`).
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from services.data.tables import TABLES_BY_NAME
from services.feature_definitions.vocabularies import VOCABULARIES

Kind = Literal["id", "integer", "number", "category"]

DAY_SENTINEL = 365243.0  # Kaggle's "no date": pensioners' employment, loans still open
LIFETIME_DAYS = 43_830  # 120 years: no person, and no credit record about one, is older
LIFETIME_MONTHS = 1_440
ADULT_DAYS = 5_844  # 16 years: the youngest age at which one can sign a contract or start work
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Domain:
    """The values one column may hold; null is allowed unless `nullable` is false."""

    column: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    nullable: bool = True
    sentinels: tuple[float, ...] = ()
    note: str = ""

    @property
    def rule(self) -> str:
        """The allowed values in words, as a 422 or a quarantine reason quotes them."""
        if self.kind == "category":
            return "one of " + ", ".join(repr(v) for v in self.values)
        noun = "a number" if self.kind == "number" else "an integer"
        if self.low is not None and self.high is not None:
            text = f"{noun} in [{_num(self.low)}, {_num(self.high)}]"
        elif self.low is not None:
            text = f"{noun} >= {_num(self.low)}"
        elif self.high is not None:
            text = f"{noun} <= {_num(self.high)}"
        else:
            text = "a finite number" if self.kind == "number" else noun
        if self.sentinels:
            text += " or " + ", ".join(_num(s) for s in self.sentinels)
        return text

    @property
    def reason(self) -> str:
        return f"must be {self.rule}"

    def allows(self, value: Any) -> bool:
        """One value (None = missing) as the request schemas see it."""
        if value is None:
            return self.nullable
        if self.kind == "category":
            return value in self.values
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        if value in self.sentinels:
            return True
        if self.kind != "number" and value != math.floor(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def broken(self, values: pl.Expr) -> pl.Expr:
        """The same test over a column (numbers as Float64, categories as strings): true = impossible."""
        if self.kind == "category":
            bad = ~values.is_in(list(self.values))
        else:
            bad = ~values.is_finite()
            if self.kind != "number":
                bad = bad | (values != values.floor())
            if self.low is not None:
                bad = bad | (values < self.low)
            if self.high is not None:
                bad = bad | (values > self.high)
            if self.sentinels:
                bad = bad & ~values.is_in(list(self.sentinels))
        missing = values.is_null()
        return pl.when(missing).then(not self.nullable).otherwise(bad.fill_null(True))


@dataclass(frozen=True)
class CrossRule:
    """A relation between columns of one row; `broken` is written once over column accessors, so the same
    lambda runs on polars expressions (frames) and on plain numbers (one request row)."""

    name: str
    columns: tuple[str, ...]
    text: str
    broken: Callable[[Callable[[str], Any]], Any]

    def broken_in_row(self, row: Mapping[str, Any]) -> bool:
        values = [row.get(c) for c in self.columns]
        if any(v is None for v in values):
            return False
        return bool(self.broken(lambda c: row[c]))

    def broken_in_frame(self) -> pl.Expr:
        return self.broken(pl.col).fill_null(False)

    def explain(self, row: Mapping[str, Any]) -> str:
        """The rule and the values of its other columns in `row` (the first column is the one named)."""
        others = ", ".join(f"{c} = {_shown(row[c])}" for c in self.columns[1:])
        return f"must satisfy {self.text}; here {others}"


@dataclass(frozen=True)
class Violation:
    field: str
    value: Any
    reason: str  # "must be <domain>" or "must satisfy <cross-field rule>"

    def __str__(self) -> str:
        return f"{self.field} = {_shown(self.value)}: {self.reason}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _shown(value: Any) -> str:
    """1.0 and 1 read the same (a frame holds floats, a request integers)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return _num(value)
    return repr(value) if isinstance(value, str) else str(value)


def _id(column: str, nullable: bool = False) -> Domain:
    return Domain(column, "id", low=0, high=_BIGINT_MAX, nullable=nullable)


def _flag(column: str, nullable: bool = True) -> Domain:
    return Domain(column, "integer", low=0, high=1, nullable=nullable)


def _count(column: str, low: float = 0, high: float | None = None) -> Domain:
    return Domain(column, "integer", low=low, high=high)


def _amount(column: str, low: float | None = 0, nullable: bool = True, note: str = "") -> Domain:
    return Domain(column, "number", low=low, nullable=nullable, note=note)


def _share(column: str, note: str = "") -> Domain:
    return Domain(column, "number", low=0, high=1, note=note)


def _past_days(column: str, sentinel: bool = False, nullable: bool = True) -> Domain:
    """Days before the application (0 = that day), at most a lifetime ago."""
    sentinels = (DAY_SENTINEL,) if sentinel else ()
    return Domain(column, "integer", low=-LIFETIME_DAYS, high=0, nullable=nullable, sentinels=sentinels)


def _any_days(column: str, sentinel: bool = False, note: str = "") -> Domain:
    """Days before or after the application: planned dates lie in the future in the real data."""
    sentinels = (DAY_SENTINEL,) if sentinel else ()
    return Domain(column, "integer", low=-LIFETIME_DAYS, high=LIFETIME_DAYS, sentinels=sentinels, note=note)


def _months(column: str) -> Domain:
    return Domain(column, "integer", low=-LIFETIME_MONTHS, high=0, nullable=False)


def _category(column: str, values: Sequence[str]) -> Domain:
    return Domain(column, "category", values=tuple(values))


def _vocabulary(column: str) -> Domain:
    return _category(column, VOCABULARIES[column.lower()])


WEEKDAYS = VOCABULARIES["weekday_appr_process_start"]
HOUR = (0, 23)
BUILDING_SUFFIXES = ("_AVG", "_MODE", "_MEDI")


def _application() -> list[Domain]:
    spec = TABLES_BY_NAME["application_train"]
    known = [
        _id("SK_ID_CURR"),
        Domain("TARGET", "integer", low=0, high=1, nullable=False),
        _vocabulary("NAME_CONTRACT_TYPE"),
        _vocabulary("CODE_GENDER"),
        _vocabulary("FLAG_OWN_CAR"),
        _vocabulary("FLAG_OWN_REALTY"),
        _count("CNT_CHILDREN", high=30),
        Domain(
            "AMT_INCOME_TOTAL", "number", low=1, nullable=False, note="a yearly income: at least one unit"
        ),
        Domain("AMT_CREDIT", "number", low=1, nullable=False, note="a loan lends something"),
        _amount("AMT_ANNUITY", low=1),
        _amount("AMT_GOODS_PRICE"),
        _vocabulary("NAME_TYPE_SUITE"),
        _vocabulary("NAME_INCOME_TYPE"),
        _vocabulary("NAME_EDUCATION_TYPE"),
        _vocabulary("NAME_FAMILY_STATUS"),
        _vocabulary("NAME_HOUSING_TYPE"),
        _share("REGION_POPULATION_RELATIVE", "normalised population share of the region"),
        Domain(
            "DAYS_BIRTH",
            "integer",
            low=-LIFETIME_DAYS,
            high=-ADULT_DAYS,
            nullable=False,
            note="the applicant is between 16 and 120 years old",
        ),
        _past_days("DAYS_EMPLOYED", sentinel=True),
        _past_days("DAYS_REGISTRATION"),
        _past_days("DAYS_ID_PUBLISH"),
        Domain("OWN_CAR_AGE", "integer", low=0, high=150, note="years; cars exist since 1886"),
        _count("CNT_FAM_MEMBERS", low=1, high=50),
        Domain("REGION_RATING_CLIENT", "integer", low=1, high=3),
        Domain("REGION_RATING_CLIENT_W_CITY", "integer", low=1, high=3),
        _category("WEEKDAY_APPR_PROCESS_START", WEEKDAYS),
        Domain("HOUR_APPR_PROCESS_START", "integer", low=HOUR[0], high=HOUR[1]),
        _vocabulary("ORGANIZATION_TYPE"),
        _vocabulary("OCCUPATION_TYPE"),
        _vocabulary("FONDKAPREMONT_MODE"),
        _vocabulary("HOUSETYPE_MODE"),
        _vocabulary("WALLSMATERIAL_MODE"),
        _vocabulary("EMERGENCYSTATE_MODE"),
        _past_days("DAYS_LAST_PHONE_CHANGE"),
    ]
    domains = {d.column: d for d in known}
    for column in spec.columns:
        if column in domains:
            continue
        if column.startswith("FLAG_") or column.startswith(("REG_", "LIVE_")):
            domains[column] = _flag(column)
        elif column.startswith("EXT_SOURCE_"):
            domains[column] = _share(column, "a normalised score")
        elif column.endswith(BUILDING_SUFFIXES):
            domains[column] = _share(column, "normalised building information")
        elif column.endswith("_SOCIAL_CIRCLE") or column.startswith("AMT_REQ_CREDIT_BUREAU_"):
            domains[column] = _count(column)
    return [domains[c] for c in spec.columns]


def _bureau() -> list[Domain]:
    return [
        _id("SK_ID_CURR"),
        _id("SK_ID_BUREAU"),
        _category("CREDIT_ACTIVE", ("Closed", "Active", "Sold", "Bad debt")),
        _category("CREDIT_CURRENCY", ("currency 1", "currency 2", "currency 3", "currency 4")),
        _past_days("DAYS_CREDIT"),
        _count("CREDIT_DAY_OVERDUE"),
        _any_days("DAYS_CREDIT_ENDDATE", note="remaining duration: future for open credits"),
        _past_days("DAYS_ENDDATE_FACT"),
        _amount("AMT_CREDIT_MAX_OVERDUE"),
        _count("CNT_CREDIT_PROLONG"),
        _amount("AMT_CREDIT_SUM"),
        _amount("AMT_CREDIT_SUM_DEBT", low=None, note="negative in the real data (overpaid)"),
        _amount("AMT_CREDIT_SUM_LIMIT", low=None, note="negative in the real data"),
        _amount("AMT_CREDIT_SUM_OVERDUE"),
        _category("CREDIT_TYPE", BUREAU_CREDIT_TYPES),
        _any_days("DAYS_CREDIT_UPDATE", note="a few updates are dated after the application"),
        _amount("AMT_ANNUITY"),
    ]


BUREAU_CREDIT_TYPES = (
    "Consumer credit",
    "Credit card",
    "Car loan",
    "Mortgage",
    "Microloan",
    "Loan for business development",
    "Another type of loan",
    "Unknown type of loan",
    "Loan for working capital replenishment",
    "Cash loan (non-earmarked)",
    "Real estate loan",
    "Loan for the purchase of equipment",
    "Loan for purchase of shares (margin lending)",
    "Mobile operator loan",
    "Interbank credit",
)
CASH_LOAN_PURPOSES = (
    "XAP",
    "XNA",
    "Repairs",
    "Other",
    "Urgent needs",
    "Buying a used car",
    "Building a house or an annex",
    "Everyday expenses",
    "Medicine",
    "Payments on other loans",
    "Education",
    "Journey",
    "Purchase of electronic equipment",
    "Buying a new car",
    "Wedding / gift / holiday",
    "Buying a home",
    "Car repairs",
    "Furniture",
    "Buying a holiday home / land",
    "Business development",
    "Gasification / water supply",
    "Buying a garage",
    "Hobby",
    "Money for a third person",
    "Refusal to name the goal",
)
GOODS_CATEGORIES = (
    "XNA",
    "Mobile",
    "Consumer Electronics",
    "Computers",
    "Audio/Video",
    "Furniture",
    "Photo / Cinema Equipment",
    "Construction Materials",
    "Clothing and Accessories",
    "Auto Accessories",
    "Jewelry",
    "Homewares",
    "Medical Supplies",
    "Vehicles",
    "Sport and Leisure",
    "Gardening",
    "Other",
    "Office Appliances",
    "Tourism",
    "Medicine",
    "Direct Sales",
    "Fitness",
    "Additional Service",
    "Education",
    "Weapon",
    "Insurance",
    "House Construction",
    "Animals",
)
PRODUCT_COMBINATIONS = (
    "Cash",
    "POS household with interest",
    "POS mobile with interest",
    "Cash X-Sell: middle",
    "Cash X-Sell: low",
    "Card Street",
    "POS industry with interest",
    "POS household without interest",
    "Card X-Sell",
    "Cash Street: high",
    "Cash X-Sell: high",
    "Cash Street: middle",
    "Cash Street: low",
    "POS mobile without interest",
    "POS other with interest",
    "POS industry without interest",
    "POS others without interest",
)
CONTRACT_STATUSES = ("Active", "Completed", "Signed", "Demand", "Approved", "Canceled", "XNA")


def _previous_application() -> list[Domain]:
    return [
        _id("SK_ID_PREV"),
        _id("SK_ID_CURR"),
        _category("NAME_CONTRACT_TYPE", ("Consumer loans", "Cash loans", "Revolving loans", "XNA")),
        _amount("AMT_ANNUITY"),
        _amount("AMT_APPLICATION"),
        _amount("AMT_CREDIT"),
        _amount("AMT_DOWN_PAYMENT", low=None, note="slightly negative in the real data"),
        _amount("AMT_GOODS_PRICE"),
        _category("WEEKDAY_APPR_PROCESS_START", WEEKDAYS),
        Domain("HOUR_APPR_PROCESS_START", "integer", low=HOUR[0], high=HOUR[1]),
        _category("FLAG_LAST_APPL_PER_CONTRACT", ("Y", "N")),
        _flag("NFLAG_LAST_APPL_IN_DAY"),
        Domain(
            "RATE_DOWN_PAYMENT", "number", low=-0.001, high=1, note="rounding noise below 0 in the real data"
        ),
        _share("RATE_INTEREST_PRIMARY"),
        _share("RATE_INTEREST_PRIVILEGED"),
        _category("NAME_CASH_LOAN_PURPOSE", CASH_LOAN_PURPOSES),
        _category("NAME_CONTRACT_STATUS", ("Approved", "Canceled", "Refused", "Unused offer")),
        _past_days("DAYS_DECISION"),
        _category(
            "NAME_PAYMENT_TYPE",
            (
                "Cash through the bank",
                "XNA",
                "Non-cash from your account",
                "Cashless from the account of the employer",
            ),
        ),
        _category(
            "CODE_REJECT_REASON", ("XAP", "HC", "LIMIT", "SCO", "CLIENT", "SCOFR", "XNA", "VERIF", "SYSTEM")
        ),
        _vocabulary("NAME_TYPE_SUITE"),
        _category("NAME_CLIENT_TYPE", ("Repeater", "New", "Refreshed", "XNA")),
        _category("NAME_GOODS_CATEGORY", GOODS_CATEGORIES),
        _category("NAME_PORTFOLIO", ("POS", "Cash", "XNA", "Cards", "Cars")),
        _category("NAME_PRODUCT_TYPE", ("XNA", "x-sell", "walk-in")),
        _category(
            "CHANNEL_TYPE",
            (
                "Credit and cash offices",
                "Country-wide",
                "Stone",
                "Regional / Local",
                "Contact center",
                "AP+ (Cash loan)",
                "Channel of corporate sales",
                "Car dealer",
            ),
        ),
        Domain("SELLERPLACE_AREA", "integer", low=-1, note="-1 = no seller place"),
        _category(
            "NAME_SELLER_INDUSTRY",
            (
                "XNA",
                "Consumer electronics",
                "Connectivity",
                "Furniture",
                "Construction",
                "Clothing",
                "Industry",
                "Auto technology",
                "Jewelry",
                "MLM partners",
                "Tourism",
            ),
        ),
        _count("CNT_PAYMENT"),
        _category("NAME_YIELD_GROUP", ("XNA", "middle", "high", "low_normal", "low_action")),
        _category("PRODUCT_COMBINATION", PRODUCT_COMBINATIONS),
        _past_days("DAYS_FIRST_DRAWING", sentinel=True),
        _any_days("DAYS_FIRST_DUE", sentinel=True, note="when the first due was supposed to be"),
        _any_days("DAYS_LAST_DUE_1ST_VERSION", sentinel=True, note="planned: future for running loans"),
        _past_days("DAYS_LAST_DUE", sentinel=True),
        _any_days("DAYS_TERMINATION", sentinel=True, note="expected termination: may be future"),
        _flag("NFLAG_INSURED_ON_APPROVAL"),
    ]


def _pos_cash_balance() -> list[Domain]:
    return [
        _id("SK_ID_PREV"),
        _id("SK_ID_CURR"),
        _months("MONTHS_BALANCE"),
        _count("CNT_INSTALMENT"),
        _count("CNT_INSTALMENT_FUTURE"),
        _category("NAME_CONTRACT_STATUS", (*CONTRACT_STATUSES, "Returned to the store", "Amortized debt")),
        _count("SK_DPD"),
        _count("SK_DPD_DEF"),
    ]


def _installments_payments() -> list[Domain]:
    return [
        _id("SK_ID_PREV"),
        _id("SK_ID_CURR"),
        _count("NUM_INSTALMENT_VERSION"),
        _count("NUM_INSTALMENT_NUMBER", low=1),
        _past_days("DAYS_INSTALMENT"),
        _past_days("DAYS_ENTRY_PAYMENT"),
        _amount("AMT_INSTALMENT"),
        _amount("AMT_PAYMENT"),
    ]


def _credit_card_balance() -> list[Domain]:
    negative = "negative in the real data (refunds, overpayments)"
    return [
        _id("SK_ID_PREV"),
        _id("SK_ID_CURR"),
        _months("MONTHS_BALANCE"),
        _amount("AMT_BALANCE", low=None, note=negative),
        _amount("AMT_CREDIT_LIMIT_ACTUAL"),
        _amount("AMT_DRAWINGS_ATM_CURRENT", low=None, note=negative),
        _amount("AMT_DRAWINGS_CURRENT", low=None, note=negative),
        _amount("AMT_DRAWINGS_OTHER_CURRENT"),
        _amount("AMT_DRAWINGS_POS_CURRENT"),
        _amount("AMT_INST_MIN_REGULARITY"),
        _amount("AMT_PAYMENT_CURRENT"),
        _amount("AMT_PAYMENT_TOTAL_CURRENT"),
        _amount("AMT_RECEIVABLE_PRINCIPAL", low=None, note=negative),
        _amount("AMT_RECIVABLE", low=None, note=negative),
        _amount("AMT_TOTAL_RECEIVABLE", low=None, note=negative),
        _count("CNT_DRAWINGS_ATM_CURRENT"),
        _count("CNT_DRAWINGS_CURRENT"),
        _count("CNT_DRAWINGS_OTHER_CURRENT"),
        _count("CNT_DRAWINGS_POS_CURRENT"),
        _count("CNT_INSTALMENT_MATURE_CUM"),
        _category("NAME_CONTRACT_STATUS", (*CONTRACT_STATUSES, "Sent proposal", "Refused")),
        _count("SK_DPD"),
        _count("SK_DPD_DEF"),
    ]


def _before_birth(column: str) -> CrossRule:
    return CrossRule(
        f"{column.lower()}_after_birth",
        (column, "DAYS_BIRTH"),
        f"{column} >= DAYS_BIRTH (not before the applicant was born)",
        lambda c: c(column) < c("DAYS_BIRTH"),
    )


APPLICATION_RULES = (
    CrossRule(
        "annuity_within_credit",
        ("AMT_ANNUITY", "AMT_CREDIT"),
        "AMT_ANNUITY <= AMT_CREDIT (a yearly annuity cannot exceed the whole credit)",
        lambda c: c("AMT_ANNUITY") > c("AMT_CREDIT"),
    ),
    CrossRule(
        "employment_within_adult_life",
        ("DAYS_EMPLOYED", "DAYS_BIRTH"),
        f"DAYS_EMPLOYED >= DAYS_BIRTH + {ADULT_DAYS} unless {_num(DAY_SENTINEL)}"
        " (work started at 16 or later)",
        lambda c: (c("DAYS_EMPLOYED") != DAY_SENTINEL) & (c("DAYS_EMPLOYED") < c("DAYS_BIRTH") + ADULT_DAYS),
    ),
    _before_birth("DAYS_REGISTRATION"),
    _before_birth("DAYS_ID_PUBLISH"),
    _before_birth("DAYS_LAST_PHONE_CHANGE"),
)

_APPLICATION = _application()
DOMAINS: dict[str, dict[str, Domain]] = {
    "application_train": {d.column: d for d in _APPLICATION},
    "application_test": {d.column: d for d in _APPLICATION if d.column != "TARGET"},
    "bureau": {d.column: d for d in _bureau()},
    "bureau_balance": {
        d.column: d
        for d in (
            _id("SK_ID_BUREAU"),
            _months("MONTHS_BALANCE"),
            _category("STATUS", ("C", "X", "0", "1", "2", "3", "4", "5")),
        )
    },
    "previous_application": {d.column: d for d in _previous_application()},
    "POS_CASH_balance": {d.column: d for d in _pos_cash_balance()},
    "installments_payments": {d.column: d for d in _installments_payments()},
    "credit_card_balance": {d.column: d for d in _credit_card_balance()},
}
RULES: dict[str, tuple[CrossRule, ...]] = {
    "application_train": APPLICATION_RULES,
    "application_test": APPLICATION_RULES,
}


def domain_for(table: str) -> dict[str, Domain]:
    """The domains of a Kaggle table name, any case (the Postgres tables are lower case)."""
    return DOMAINS[_kaggle_name(table)]


def rules_for(table: str) -> tuple[CrossRule, ...]:
    return RULES.get(_kaggle_name(table), ())


def _kaggle_name(table: str) -> str:
    if table.lower() == "application":
        return "application_test"
    return next(name for name in DOMAINS if name.lower() == table.lower())


def row_violations(table: str, row: Mapping[str, Any]) -> list[Violation]:
    """Every broken domain and cross-field rule of one row's present values (Kaggle column names); which
    fields must be present is the request schema's business (its required fields)."""
    domains = domain_for(table)
    found = [
        Violation(column, value, domain.reason)
        for column, domain in domains.items()
        if (value := row.get(column)) is not None and not domain.allows(value)
    ]
    bad_columns = {v.field for v in found}
    for rule in rules_for(table):
        if bad_columns.isdisjoint(rule.columns) and rule.broken_in_row(row):
            found.append(Violation(rule.columns[0], row[rule.columns[0]], rule.explain(row)))
    return found


def frame_violations(table: str, frame: pl.DataFrame) -> dict[int, list[Violation]]:
    """Row position -> its violations, over a frame with Kaggle column names (numbers as Float64, text as
    strings; absent columns are not checked). Vectorised: Python only touches the rows that break a rule."""
    domains = {c: d for c, d in domain_for(table).items() if c in frame.columns}
    rules = [r for r in rules_for(table) if all(c in frame.columns for c in r.columns)]
    if frame.height == 0 or not (domains or rules):
        return {}
    masks = frame.select(
        *(d.broken(pl.col(c)).alias(c) for c, d in domains.items()),
        *(r.broken_in_frame().alias(f"rule:{r.name}") for r in rules),
    )
    any_bad = masks.select(pl.any_horizontal(pl.all())).to_series().to_numpy()
    found: dict[int, list[Violation]] = {}
    for position in np.flatnonzero(any_bad):
        flags = masks.row(int(position), named=True)
        row = frame.row(int(position), named=True)
        problems = [Violation(c, row[c], d.reason) for c, d in domains.items() if flags[c]]
        bad_columns = {v.field for v in problems}
        problems += [
            Violation(r.columns[0], row[r.columns[0]], r.explain(row))
            for r in rules
            if flags[f"rule:{r.name}"] and bad_columns.isdisjoint(r.columns)
        ]
        found[int(position)] = problems
    return found


def typed_frame(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast a frame of strings (or mixed types) to what the domains compare: categories as strings,
    everything else Float64 (an unparsable number becomes null: its type check reports it)."""
    domains = domain_for(table)
    return frame.with_columns(
        pl.col(c).cast(pl.String if d.kind == "category" else pl.Float64, strict=False)
        for c, d in domains.items()
        if c in frame.columns
    )


def domain_table() -> str:
    """docs/domains.md: every table's domains and cross-field rules, from this module."""
    lines = [
        "# Input domains",
        "",
        "Generated by `python -m services.data.domains` from `services/data/domains.py`; a test fails when",
        "this file is out of date. A value outside its domain is impossible: the API answers 422 naming the",
        "field, its value and the rule, `credit score --input` gives the row no score (column `error`), and",
        "`credit data load` quarantines the row with the rule. Rare but possible values are scored and",
        "flagged as unusual instead (see docs/model.md).",
        "",
        f"{sum(len(d) for d in DOMAINS.values() if d is not DOMAINS['application_test'])} column domains "
        f"(application_test has application_train's without TARGET), "
        f"{sum(len(r) for n, r in RULES.items() if n != 'application_test')} cross-field rules.",
        "",
    ]
    for table, domains in DOMAINS.items():
        if table == "application_test":
            continue
        title = "application_train / application_test" if table == "application_train" else table
        lines += [f"## {title}", "", "| column | kind | allowed | null | note |", "|---|---|---|---|---|"]
        for d in domains.values():
            null = "yes" if d.nullable else "no"
            lines.append(f"| `{d.column}` | {d.kind} | {d.rule} | {null} | {d.note} |")
        lines.append("")
        if table in RULES:
            lines += ["Cross-field rules:", ""]
            lines += [f"- `{r.name}`: {r.text}" for r in RULES[table]]
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(domain_table(), end="")
