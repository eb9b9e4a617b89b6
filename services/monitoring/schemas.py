"""Messages the monitoring service reads (stream entries, outcome posts) and the bodies it returns.

Stream entries are validated with the same strict models as the API, so a malformed entry is rejected
with a reason instead of half-written.
"""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
_LENIENT = ConfigDict(extra="ignore", allow_inf_nan=False)  # producers may add fields later


class DecisionEvent(BaseModel):
    """One gateway decision: the `data` field of a `decisions` stream entry."""

    model_config = _LENIENT
    request_id: str = Field(min_length=1)
    time: AwareDatetime
    client_id: int | None
    model_version: str = Field(min_length=1)
    features: dict[str, float | None] = Field(min_length=1)
    pd: float = Field(ge=0.0, le=1.0)
    decision: Literal["approved", "refused"]
    threshold: float
    latency_ms: float = Field(ge=0.0)
    source: Literal["client_id", "application"]


class ShadowEvent(BaseModel):
    """A challenger's score of a request the champion decided: the fields of a `scoring:shadow` entry.

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


class OutcomeIn(BaseModel):
    """Whether a client defaulted. It counts for the decision whose request id is `request_id`, or, when
    no decision has that id (the gateway sends the id of the outcomes request), for the client's decisions."""

    model_config = _STRICT
    client_id: int
    defaulted: bool
    time: AwareDatetime
    request_id: str | None = Field(default=None, min_length=1)

    def key(self) -> str:
        """The same outcome sent twice (stream replay, client retry) has the same key."""
        if self.request_id is not None:
            return f"{self.request_id}:{self.client_id}"
        return f"{self.client_id}@{self.time.isoformat()}"


class OutcomesIn(BaseModel):
    model_config = _STRICT
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000)


class OutcomesAccepted(BaseModel):
    received: int
    inserted: int = Field(description="new outcomes; the rest were already recorded")


class FeatureDriftOut(BaseModel):
    feature: str
    stattest: str
    score: float
    threshold: float
    drifted: bool


class DriftRunOut(BaseModel):
    id: int
    status: Literal["ok", "failed", "skipped"]
    error: str | None
    started_at: datetime
    finished_at: datetime
    model_version: str | None
    window_start: datetime | None
    window_end: datetime | None
    current_rows: int
    reference_rows: int
    features_tested: int
    drifted_features: int
    drift_share: float | None
    dataset_drift: bool | None
    score_psi: float | None
    duration_s: float
    report_url: str | None
    top_features: list[FeatureDriftOut]


class PerformanceOut(BaseModel):
    window_days: float
    decisions: int
    with_outcome: int
    default_rate: float | None
    auc: float | None
    cost: float | None = Field(description="10 per defaulted approval + 1 per refused non-default")
    cost_per_decision: float | None


class GroupApproval(BaseModel):
    attribute: str
    group: str
    decisions: int
    approval_rate: float
    ratio: float | None = Field(description="approval rate / the highest group's approval rate")


class FairnessOut(BaseModel):
    window_hours: float
    groups: list[GroupApproval]
