"""Outcome posts, gateway -> monitoring: whether a client defaulted on the loan of a decision, and which
posted outcomes settled a decision (the gateway's POST /v1/outcomes passes the answer on)."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
REQUEST_ID_PATTERN = (
    r"^[\x20-\x7e\xa0-\xff]+$"  # what an X-Request-ID header can carry (latin-1, no controls)
)
EARLIEST_YEAR = 2000  # no decision, so no outcome, before then


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
    accepted: list[SettledOutcome] = Field(description="recorded, unchanged (sent before) or corrected")
    rejected: list[RejectedOutcome] = Field(
        description="outcomes that settle no decision, with the reason: not stored"
    )
