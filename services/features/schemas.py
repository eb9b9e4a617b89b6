"""Request and response bodies of the features service.

The raw application and history rows are models generated from services/data/tables.py, so the API
accepts exactly the Kaggle column names and types (extra fields are rejected, naming them).
"""

from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, create_model

from services.features.catalog import DTYPE, FEATURE_SET_HASH, FEATURES, NAMES
from services.features.raw import HISTORY_TABLES, spec_for

# Fields a raw application cannot be scored without; every other field may be missing (null).
REQUIRED_APPLICATION_FIELDS = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH")
# Ids and TARGET are bigint columns: a larger integer is refused here (422) rather than failing downstream.
_BIGINT = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
_PYTHON_TYPES: dict[str, Any] = {"id": _BIGINT, "number": float, "text": str}
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _row_model(table: str, required: tuple[str, ...] = ()) -> type[BaseModel]:
    spec = spec_for(table)
    fields: dict[str, Any] = {}
    for column in spec.columns:
        python_type = _PYTHON_TYPES[spec.kind(column)]
        fields[column] = (python_type, ...) if column in required else (python_type | None, None)
    return create_model(f"{table.title().replace('_', '')}Row", __config__=_STRICT, **fields)


ApplicationIn = _row_model("application", REQUIRED_APPLICATION_FIELDS)
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
