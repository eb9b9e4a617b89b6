"""Messages the monitoring service reads (stream entries, outcome posts) and the bodies it returns.

Stream entries are validated with the same strict models as the API, so a malformed entry is rejected
with a reason instead of half-written.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
REQUEST_ID_PATTERN = (
    r"^[\x20-\x7e\xa0-\xff]+$"  # what an X-Request-ID header can carry (latin-1, no controls)
)
EARLIEST_YEAR = 2000  # no decision, so no outcome, before then
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
    decision: Literal["approved", "review", "refused"]
    threshold: float
    review_band: dict[str, float] | None = None
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    explanation_id: str | None = None
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
    """Whether a client defaulted on the loan of one decision: the decision whose request id is
    `request_id`, or without one the client's latest decision at or before `time`."""

    model_config = _STRICT
    client_id: int
    defaulted: bool
    time: AwareDatetime = Field(description="when the outcome was observed")
    request_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=REQUEST_ID_PATTERN)

    @field_validator("time")
    @classmethod
    def in_utc(cls, value: datetime) -> datetime:
        """Postgres takes offsets up to 15:59 only; years before 2000 settle no decision anyway."""
        if value.year < EARLIEST_YEAR:
            raise ValueError(f"time {value.isoformat()} is before {EARLIEST_YEAR}")
        return value.astimezone(UTC)


class OutcomesIn(BaseModel):
    model_config = _STRICT
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000)


class SettledOutcome(BaseModel):
    item: int = Field(description="position of the outcome in the posted list")
    client_id: int
    request_id: str = Field(description="the decision it settles")
    result: Literal["recorded", "unchanged", "corrected"] = Field(
        description="recorded: first outcome of the decision; unchanged: the same outcome again; "
        "corrected: replaces a different earlier outcome (kept in its history)"
    )
    revision: int = Field(description="1 for the first outcome of the decision, +1 per correction")


class RejectedOutcome(BaseModel):
    item: int
    client_id: int
    request_id: str | None
    reason: str


class OutcomesSettled(BaseModel):
    accepted: list[SettledOutcome]
    rejected: list[RejectedOutcome] = Field(description="outcomes that settle no decision: not stored")


class OutcomeRevision(BaseModel):
    revision: int
    defaulted: bool
    observed_at: datetime
    matched_by: Literal["request_id", "latest_decision"]
    source_request_id: str | None
    recorded_at: datetime
    replaced_at: datetime | None


class DecisionOutcome(BaseModel):
    request_id: str
    client_id: int
    current: OutcomeRevision
    history: list[OutcomeRevision] = Field(description="earlier outcomes this one corrected, oldest first")


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


class RealisedOut(BaseModel):
    with_outcome: int = Field(description="decisions settled by an outcome (each counted once)")
    default_rate: float | None
    auc: float | None = Field(description="null until both defaulters and repayers are known")
    ks: float | None
    cost: float | None = Field(description="10 per defaulted approval + 1 per refused non-default")
    cost_per_decision: float | None


class EstimatedOut(BaseModel):
    decisions: int = Field(description="decisions the estimate reads (settled or not)")
    default_rate: float | None = Field(description="mean PD")
    auc: float | None = Field(description="expected AUC if the PDs are calibrated (CBPE)")
    cost: float | None = Field(description="expected cost: 10 x PD per approval + 1 x (1 - PD) per refusal")
    cost_per_decision: float | None


class PerformanceOut(BaseModel):
    window_days: float
    decisions: int
    realised: RealisedOut
    estimated: EstimatedOut


class BandOut(BaseModel):
    band: str = Field(description="PD range, lower bound included")
    settled: int
    defaults: int
    mean_pd: float
    observed_default_rate: float
    jeffreys_low: float = Field(description="95% Jeffreys interval of the true default rate")
    jeffreys_high: float
    p_value: float = Field(description="Jeffreys test, one-sided: small when the PD underestimates the risk")
    verdict: Literal["consistent", "underestimates", "overestimates"]


class VintageOut(BaseModel):
    vintage: str = Field(description="month of decision, UTC (YYYY-MM)")
    decisions: int
    approval_rate: float
    mean_pd: float
    realised: RealisedOut
    gini: float | None
    estimated: EstimatedOut
    bands: list[BandOut]


class VintagesOut(BaseModel):
    months: int = Field(description="vintages of the current month and this many before it")
    vintages: list[VintageOut]


class GroupApproval(BaseModel):
    attribute: str
    group: str
    decisions: int
    approval_rate: float
    ratio: float | None = Field(description="approval rate / the highest group's approval rate")


class FairnessOut(BaseModel):
    window_hours: float
    groups: list[GroupApproval]


# The fixed list an officer's review names its reason from.
REVIEW_REASONS = (
    "income_verified",
    "identity_verified",
    "documents_provided",
    "credit_history_checked",
    "affordability_confirmed",
    "affordability_insufficient",
    "information_inconsistent",
    "fraud_suspected",
    "policy_exception",
    "other",
)
ReviewReason = Literal[REVIEW_REASONS]  # type: ignore[valid-type]


class ReviewIn(BaseModel):
    """An officer's final say on a decision in review."""

    model_config = _STRICT
    decision: Literal["approved", "refused"]
    reason: ReviewReason = Field(description="one of the fixed reason codes")
    note: str = Field(
        default="",
        max_length=2000,
        pattern=r"^[^\x00]*$",  # Postgres text cannot hold NUL: refused here, not a 500 at the insert
        description="free text for the file (no NUL character)",
    )


class ReviewRecordIn(ReviewIn):
    actor: str = Field(min_length=1, max_length=200, description="who decided: the officer's API key name")


class ReviewBandIn(BaseModel):
    low: float
    high: float


class ReviewOut(BaseModel):
    decision: Literal["approved", "refused"]
    reason: str
    note: str
    actor: str
    reviewed_at: datetime


class PendingReview(BaseModel):
    request_id: str
    decided_at: datetime
    client_id: int | None
    model_version: str
    pd: float
    threshold: float
    review_band: ReviewBandIn | None
    warnings: list[dict[str, Any]]
    explanation_id: str | None


class PendingReviews(BaseModel):
    pending: int = Field(description="decisions waiting for an officer (the list may be cut at `limit`)")
    reviews: list[PendingReview] = Field(description="oldest first")


class DecisionRecord(BaseModel):
    """One decision in full: what was scored, by which model, what it decided, who decided last."""

    request_id: str
    decided_at: datetime
    client_id: int | None
    source: str
    model_version: str
    inputs: dict[str, float | None] = Field(description="the feature vector the model scored")
    pd: float
    threshold: float
    review_band: ReviewBandIn | None
    warnings: list[dict[str, Any]]
    explanation_id: str | None
    recourse: dict[str, Any] | None = Field(
        description="the offers the explainer made with its explanation ({offers, statement}); null for an "
        "approval or until the explanation is done"
    )
    automated_decision: Literal["approved", "review", "refused"]
    model_side: Literal["approved", "refused"] = Field(description="the model's side of the threshold")
    review: ReviewOut | None
    final_decision: Literal["approved", "review", "refused"] = Field(
        description="the officer's decision where there is one; `review` while one is pending"
    )
