"""Request and response bodies of the public API (/v1), with the examples shown in the OpenAPI docs.

The raw application and history models are the features service's own (generated from the Kaggle table
specs), so the gateway accepts exactly what the features service can compute from.
"""

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.contracts.applications import ApplicationIn, HistoryIn
from services.contracts.outcomes import EARLIEST_YEAR, REQUEST_ID_PATTERN, OutcomesSettled
from services.contracts.reviews import PendingReview
from services.contracts.scoring import Decision, InputWarning, ReviewBandOut

BIGINT_MAX = 2**63 - 1
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of ours a caller's clock may be
_STRICT = ConfigDict(extra="forbid")

APPLICATION_EXAMPLE = {
    "SK_ID_CURR": 456_001,
    "NAME_CONTRACT_TYPE": "Cash loans",
    "CODE_GENDER": "F",
    "AMT_INCOME_TOTAL": 135_000.0,
    "AMT_CREDIT": 568_800.0,
    "AMT_ANNUITY": 20_560.5,
    "AMT_GOODS_PRICE": 450_000.0,
    "DAYS_BIRTH": -19_241,
    "DAYS_EMPLOYED": -2_329,
    "EXT_SOURCE_2": 0.79,
    "EXT_SOURCE_3": 0.16,
}


class ScoreRequest(BaseModel):
    """Either a known client's id, or a new applicant's raw application (and optional history)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"client_id": 100_002},
                {"application": APPLICATION_EXAMPLE},
                {
                    "application": APPLICATION_EXAMPLE,
                    "history": {
                        "bureau": [{"SK_ID_CURR": 456_001, "SK_ID_BUREAU": 1, "CREDIT_ACTIVE": "Active"}]
                    },
                },
            ]
        },
    )
    client_id: int | None = Field(None, ge=0, le=BIGINT_MAX, description="SK_ID_CURR of a known client")
    application: ApplicationIn | None = Field(  # type: ignore[valid-type]
        None, description="raw Kaggle application fields of a new applicant"
    )
    history: HistoryIn | None = Field(  # type: ignore[valid-type]
        None, description="the applicant's history rows; omitted = the history stored for its SK_ID_CURR"
    )

    @model_validator(mode="after")
    def one_subject(self) -> Self:
        if (self.client_id is None) == (self.application is None):
            raise ValueError("give either client_id or application, not both")
        if self.history is not None and self.application is None:
            raise ValueError("history goes with an application, not with a client_id")
        return self


class ExplanationRef(BaseModel):
    id: str | None = Field(description="poll GET /v1/explanations/{id}; null when unavailable")
    status: Literal["pending", "running", "done", "failed", "unavailable"]
    url: str | None = Field(description="status URL of the explanation")


class ScoreResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5f0c6d0e8a3b4c1f9d2e7a6b5c4d3e2f",
                    "client_id": 100_002,
                    "source": "client_id",
                    "pd": 0.083,
                    "decision": "review",
                    "threshold": 0.11,
                    "review_band": {"low": 0.07, "high": 0.15, "share": 0.1},
                    "points": 531,
                    "grade": "E",
                    "warnings": [
                        {
                            "field": "app_amt_income_total",
                            "value": 9e7,
                            "unusual": "outside the training range [25650, 4.5e+06]",
                        }
                    ],
                    "model_version": "3",
                    "explanation": {
                        "id": "3-9c1e0f2b7a4d5e6f8a9b0c1d",
                        "status": "pending",
                        "url": "/v1/explanations/3-9c1e0f2b7a4d5e6f8a9b0c1d",
                    },
                }
            ]
        }
    )
    request_id: str
    client_id: int | None = Field(description="the known client, or the application's SK_ID_CURR if given")
    source: Literal["client_id", "application"]
    pd: float = Field(ge=0, le=1, description="probability of default")
    decision: Decision = Field(
        description="review when pd is inside the review band or an input is unusual (warnings); "
        "otherwise refused when pd >= threshold, else approved"
    )
    threshold: float
    review_band: ReviewBandOut | None = Field(description="PDs in [low, high) go to an officer")
    points: int = Field(description="score in points: GET /v1/model gives the scale")
    grade: str = Field(description="risk grade of the model's master scale")
    warnings: list[InputWarning] = Field(description="what is unusual about the inputs for this model")
    model_version: str
    explanation: ExplanationRef


class Outcome(BaseModel):
    """Settles one decision: the one whose request id is `request_id`, else the client's latest decision
    at or before `time`."""

    model_config = _STRICT
    client_id: int = Field(ge=0, le=BIGINT_MAX)
    defaulted: bool = Field(description="true = payment difficulties observed, false = repaid")
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=REQUEST_ID_PATTERN,
        description="the decision it settles (its score's request_id)",
    )
    time: AwareDatetime | None = Field(None, description="when it was observed; default: now")

    @field_validator("time")
    @classmethod
    def observed_since_2000_and_not_in_the_future(cls, value: datetime | None) -> datetime | None:
        """In UTC: Postgres takes offsets up to 15:59 only, and no decision predates 2000."""
        if value is None:
            return None
        if value.year < EARLIEST_YEAR:
            raise ValueError(f"time {value.isoformat()} is before {EARLIEST_YEAR}")
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError(f"time {value.isoformat()} is in the future")
        return value.astimezone(UTC)


class OutcomesRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcomes": [{"client_id": 100_002, "defaulted": False}]}]},
    )
    outcomes: list[Outcome] = Field(min_length=1, max_length=1000)


class OutcomesAccepted(OutcomesSettled):
    """Monitoring's answer to the posted outcomes, with the request id of this call."""

    request_id: str


class QueuedReview(PendingReview):
    explanation_url: str | None = Field(description="GET it for the reasons behind the PD")


class ReviewQueue(BaseModel):
    pending: int = Field(description="decisions waiting for an officer (the list may be cut at `limit`)")
    reviews: list[QueuedReview] = Field(description="oldest first")
