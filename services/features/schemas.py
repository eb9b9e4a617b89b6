"""Request and response bodies of the features service.

The raw application and history rows are models generated from services/data/tables.py, so the API
accepts exactly the Kaggle column names and types (extra fields are rejected, naming them), and each value
is checked against its domain (services/data/domains.py): an impossible value is a 422 naming the field,
its value and the allowed range or values.
"""

from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, create_model
from pydantic_core import PydanticCustomError

from services.data.domains import CrossRule, Domain, domain_for, rules_for
from services.feature_definitions.catalog import DTYPE, FEATURE_SET_HASH, FEATURES, NAMES
from services.feature_definitions.raw import HISTORY_TABLES, spec_for

_PYTHON_TYPES: dict[str, Any] = {"id": int, "number": float, "text": str}
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _in_domain(domain: Domain, rules: list[CrossRule]) -> AfterValidator:
    """The field's domain, then the cross-field rules it is reported under (their other columns come
    earlier in the table, so they are validated already and in `info.data`)."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if not domain.allows(value):
            raise PydanticCustomError("domain", "{reason}", {"reason": domain.reason})
        row = {**info.data, domain.column: value}
        for rule in rules:
            if rule.broken_in_row(row):
                raise PydanticCustomError("domain", "{reason}", {"reason": rule.explain(row)})
        return value

    return AfterValidator(check)


def _row_model(table: str, application: bool = False) -> type[BaseModel]:
    """Fields a domain says cannot be null are required, except ids: a new applicant has none yet, and
    history rows are tied to the application by the service."""
    spec = spec_for(table)
    domains, rules = domain_for(table), rules_for(table)
    fields: dict[str, Any] = {}
    for column in spec.columns:
        domain = domains[column]
        reported = [r for r in rules if r.columns[0] == column]
        python_type = Annotated[_PYTHON_TYPES[spec.kind(column)], _in_domain(domain, reported)]
        required = application and not domain.nullable and domain.kind != "id"
        fields[column] = (python_type, ...) if required else (python_type | None, None)
    return create_model(f"{table.title().replace('_', '')}Row", __config__=_STRICT, **fields)


ApplicationIn = _row_model("application", application=True)
REQUIRED_APPLICATION_FIELDS = tuple(n for n, f in ApplicationIn.model_fields.items() if f.is_required())
HistoryIn = create_model(
    "HistoryIn",
    __config__=_STRICT,
    **{table: (list[_row_model(table)], Field(default_factory=list)) for table in HISTORY_TABLES},
)


class ComputeRequest(BaseModel):
    """A raw application; `history` omitted means: use the history stored for its SK_ID_CURR."""

    model_config = _STRICT
    application: ApplicationIn  # type: ignore[valid-type]
    history: HistoryIn | None = None  # type: ignore[valid-type]


class FeatureVector(BaseModel):
    client_id: int | None
    feature_set_hash: str
    origin: str = Field(description="materialised, computed (from stored rows) or payload")
    features: dict[str, float | None] = Field(
        description="feature name -> value in catalog order; null = missing"
    )


class FeatureInfo(BaseModel):
    name: str
    dtype: str
    kind: str
    description: str


class FeatureSchema(BaseModel):
    feature_set_hash: str
    features: list[FeatureInfo]


def vector_json(client_id: int | None, origin: str, values: np.ndarray) -> bytes:
    """A FeatureVector body for the hot path: orjson writes the dict directly (half pydantic's cost, no
    re-validation) and writes NaN, a missing value, as null."""
    features = dict(zip(NAMES, values.tolist(), strict=True))
    vector = {
        "client_id": client_id,
        "feature_set_hash": FEATURE_SET_HASH,
        "origin": origin,
        "features": features,
    }
    return orjson.dumps(vector)


def feature_schema() -> FeatureSchema:
    return FeatureSchema(
        feature_set_hash=FEATURE_SET_HASH,
        features=[
            FeatureInfo(name=f.name, dtype=DTYPE, kind=f.kind, description=f.description) for f in FEATURES
        ],
    )


class OutcomeCounts(BaseModel):
    repaid: int = Field(ge=0, description="labelled clients with TARGET = 0")
    defaulted: int = Field(ge=0, description="labelled clients with TARGET = 1 (payment difficulties)")


class DistributionBin(OutcomeCounts):
    lower: float = Field(description="a value v is in the last bin whose lower <= v")
    upper: float = Field(description="the next bin's lower; equal to lower for a bin of one value")


DISTRIBUTION_EXAMPLE = {
    "feature": "app_ext_source_3",
    "description": "Normalised score from external data source 3",
    "kind": "continuous",
    "feature_set_hash": "3f2a9c0d1e7b6a54",
    "clients": {"repaid": 4596, "defaulted": 404},
    "missing": {"repaid": 905, "defaulted": 95},
    "bins": [
        {"lower": 0.0005, "upper": 0.06, "repaid": 61, "defaulted": 21},
        {"lower": 0.06, "upper": 0.1, "repaid": 88, "defaulted": 24},
    ],
}


class FeatureDistribution(BaseModel):
    """One feature over the labelled clients, split by outcome: every client is counted once, in a bin or
    as missing, so the bins plus `missing` add up to `clients` for each outcome."""

    model_config = ConfigDict(json_schema_extra={"examples": [DISTRIBUTION_EXAMPLE]})
    feature: str
    description: str
    kind: str = Field(description="continuous, categorical (codes) or flag")
    feature_set_hash: str
    clients: OutcomeCounts
    missing: OutcomeCounts = Field(description="clients whose value is missing")
    bins: list[DistributionBin] = Field(
        description="ascending; one bin per value when there are few distinct values, else equal-width "
        "bins between the 1st and 99th percentiles, the end bins stretched to the minimum and maximum"
    )
