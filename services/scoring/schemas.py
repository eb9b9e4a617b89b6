"""Request and response bodies of the scoring service: one strict JSON shape, no alternatives."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A number or null (= missing). Strict: strings such as "NaN" or "1.5" are refused, and so are non-finite
# numbers (NaN, Infinity literals or overflowing exponents), which JSON cannot carry honestly.
FeatureValue = Annotated[float | None, Field(strict=True, allow_inf_nan=False)]
FeatureRow = dict[str, FeatureValue]


class PredictRequest(BaseModel):
    """Exactly one of `features` (one vector) or `instances` (a batch); names must match the model's."""

    model_config = ConfigDict(extra="forbid")
    features: FeatureRow | None = None
    instances: list[FeatureRow] | None = None

    @model_validator(mode="after")
    def one_shape(self) -> Self:
        if (self.features is None) == (self.instances is None):
            raise ValueError("give exactly one of 'features' (one vector) or 'instances' (a batch)")
        if self.instances is not None and not self.instances:
            raise ValueError("'instances' must hold at least one row")
        return self

    def located_rows(self) -> list[tuple[str, FeatureRow]]:
        """Each row to score with the field path an error about it should name."""
        if self.features is not None:
            return [("features", self.features)]
        return [(f"instances.{i}", row) for i, row in enumerate(self.instances or [])]


class Prediction(BaseModel):
    pd: float = Field(description="calibrated probability of default")
    decision: Literal["approved", "refused"] = Field(description="refused when pd >= threshold")


class PredictResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model_name: str
    model_version: str
    threshold: float
    predictions: list[Prediction]


class ModelDescription(BaseModel):
    """The champion model now serving (follows the registry alias); the gateway's GET /v1/model too."""

    name: str
    version: str
    alias: str
    threshold: float
    feature_set_hash: str
    feature_names: list[str]
    metrics: dict[str, float] = Field(description="numeric tags of the version: threshold, val_*, test_*")


class Status(BaseModel):
    status: str
