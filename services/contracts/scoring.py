"""The scoring service's /predict request and response (the gateway sends and reads them) and its model
description (GET /model, passed on as the gateway's GET /v1/model). One strict JSON shape, no alternatives."""

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


Decision = Literal["approved", "review", "refused"]


class InputWarning(BaseModel):
    field: str = Field(description="feature name, or `inputs` for the row as a whole")
    value: float | None
    unusual: str = Field(description="what is unusual about it for this model")


class Prediction(BaseModel):
    pd: float = Field(description="calibrated probability of default")
    decision: Decision = Field(
        description="review inside the review band or with warnings; else refused when pd >= threshold"
    )
    points: int = Field(description="the score on the model's points scale (higher = safer)")
    grade: str = Field(description="risk grade of the master scale")
    warnings: list[InputWarning] = Field(description="unusual inputs: scored, but the decision is review")


class ReviewBandOut(BaseModel):
    low: float = Field(description="PDs in [low, high) go to review")
    high: float
    share: float = Field(description="share of the out-of-fold applications inside the band")


class RiskGrade(BaseModel):
    grade: str
    pd_below: float = Field(description="upper PD bound of the grade (the last grade includes 1)")


class PointsScale(BaseModel):
    points_to_double_odds: float
    anchor_points: float
    anchor_odds: float = Field(description="good:bad odds scored anchor_points")


class PredictResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model_name: str
    model_version: str
    threshold: float
    review_band: ReviewBandOut | None
    predictions: list[Prediction] = Field(min_length=1, description="one per row, in the request's order")


class ModelDescription(BaseModel):
    """The champion model now serving (follows the registry alias); the gateway's GET /v1/model too."""

    name: str
    version: str
    alias: str
    threshold: float
    feature_set_hash: str
    feature_names: list[str]
    metrics: dict[str, float] = Field(description="numeric tags of the version: threshold, val_*, test_*")
    review_band: ReviewBandOut | None = Field(description="null for a model trained without one")
    points_scale: PointsScale
    master_scale: list[RiskGrade]
