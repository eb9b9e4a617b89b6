"""Reviews, gateway -> monitoring: the queue of decisions waiting for an officer, the officer's final say
and the full decision record monitoring answers with (the gateway's /v1 review routes pass them on)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.explanations import Recourse
from services.contracts.scoring import Decision, InputWarning

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
FinalDecision = Literal["approved", "refused"]  # an officer decides; review is not an answer

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
    decision: FinalDecision
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
    decision: FinalDecision
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
    warnings: list[InputWarning]
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
    warnings: list[InputWarning]
    explanation_id: str | None
    recourse: Recourse | None = Field(
        description="the offers the explainer made with its explanation ({offers, statement}); null for an "
        "approval or until the explanation is done"
    )
    automated_decision: Decision
    model_side: FinalDecision = Field(description="the model's side of the threshold")
    review: ReviewOut | None
    final_decision: Decision = Field(
        description="the officer's decision where there is one; `review` while one is pending"
    )
