"""What the features service answers: the feature vector (read by the gateway), the feature schema (read by
the scoring service's model check) and a feature's distribution (passed on by the gateway)."""

from pydantic import BaseModel, ConfigDict, Field


class FeatureVector(BaseModel):
    client_id: int | None
    feature_set_hash: str
    origin: str = Field(description="materialised, computed (from stored rows) or payload")
    features: dict[str, float | None] = Field(
        description="feature name -> value in catalog order; null = missing"
    )


class FeatureVectors(BaseModel):
    """The answer of `POST /features/compute/batch`: one vector per application, in request order."""

    vectors: list[FeatureVector]


class FeatureInfo(BaseModel):
    name: str
    dtype: str
    kind: str
    description: str


class FeatureSchema(BaseModel):
    feature_set_hash: str
    features: list[FeatureInfo]


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
