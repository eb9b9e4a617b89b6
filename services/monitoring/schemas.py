"""Bodies the monitoring service returns of its own (outcome history, drift, performance, vintages,
fairness). The messages it shares with a producer are in services/contracts (events, outcomes, reviews).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


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
