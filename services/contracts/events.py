"""Stream events into monitoring: the decision the gateway appends to the decisions stream and the shadow
score the scoring service appends to the shadow stream, with the streams' default names (both sides read
them through the DECISIONS_STREAM / SHADOW_STREAM settings, defaulting to these).

Consumers validate entries with these strict models, so a malformed entry is rejected with a reason
instead of half-written; unknown fields are ignored, so a producer may add one before consumers read it.
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.contracts.explanations import Recourse
from services.contracts.scoring import Decision, InputWarning, ReviewBandOut

DECISIONS_STREAM = "decisions"
SHADOW_STREAM = "scoring:shadow"
RECOURSE_STREAM = "explainer:recourse"
DECISION_FIELD = "data"  # a decisions entry holds its event as JSON in this one field
_LENIENT = ConfigDict(extra="ignore", allow_inf_nan=False)


class DecisionEvent(BaseModel):
    """One gateway decision: the `data` field of a decisions stream entry."""

    model_config = _LENIENT
    request_id: str = Field(min_length=1)
    time: AwareDatetime
    client_id: int | None
    model_version: str = Field(min_length=1)
    features: dict[str, float | None] = Field(min_length=1)
    pd: float = Field(ge=0.0, le=1.0)
    decision: Decision
    threshold: float
    review_band: ReviewBandOut | None = None
    warnings: list[InputWarning] = Field(default_factory=list)
    explanation_id: str | None = None
    latency_ms: float = Field(ge=0.0)
    source: Literal["client_id", "application"]


class ShadowEvent(BaseModel):
    """A challenger's score of a request the champion decided: the fields of a shadow stream entry.

    `row` is the instance's position in the request (0 for a single vector); `time` may be epoch seconds.
    """

    model_config = _LENIENT
    request_id: str = Field(min_length=1)
    row: int = Field(default=0, ge=0)
    time: AwareDatetime
    champion_version: str
    champion_pd: float = Field(ge=0.0, le=1.0)
    challenger_version: str
    challenger_pd: float = Field(ge=0.0, le=1.0)


class RecourseEvent(BaseModel):
    """One entry of RECOURSE_STREAM: the explainer worker's offers for one explanation, stored by monitoring
    with the decision records pointing to it."""

    explanation_id: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    recourse: Recourse
