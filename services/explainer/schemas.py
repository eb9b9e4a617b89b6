"""What the explainer returns: explanation results, their status records and global importance."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

Direction = Literal["raises risk", "lowers risk"]


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One explanation task: its message's arguments and how often it was retried."""

    explanation_id: str
    version: str
    features: dict[str, float | None]
    client_id: int | None
    retries: int = 0

    def args(self) -> list[object]:
        """The task's arguments, as the client sends them (the gateway builds jobs too)."""
        return [self.explanation_id, self.version, self.features, self.client_id]


class Contribution(BaseModel):
    feature: str
    value: float | None = Field(description="the feature's value; null = missing")
    shap_value: float = Field(description="contribution to the raw margin (log-odds of default)")
    direction: Direction


class Reason(BaseModel):
    feature: str
    direction: Direction
    text: str = Field(
        description="plain language, e.g. "
        '"Normalised score from ... 3 is 0.12, lower than usual (0.5): raises risk"'
    )


class Explanation(BaseModel):
    model_version: str
    client_id: int | None
    base_value: float = Field(description="expected raw margin over the training data (log-odds)")
    raw_margin: float = Field(description="base_value + the sum of every feature's SHAP value")
    pd: float = Field(description="calibrated probability of default")
    decision: Literal["approved", "refused"]
    threshold: float
    contributions: list[Contribution] = Field(description="top-k by |SHAP value|")
    reasons: list[Reason] = Field(description="by impact; for a refusal the risk-raising ones first")


class ExplanationStatus(BaseModel):
    explanation_id: str
    status: Status
    reason: str | None = Field(default=None, description="why it failed")
    result: Explanation | None = None


class FeatureImportance(BaseModel):
    feature: str
    mean_abs_shap: float


class GlobalImportance(BaseModel):
    model_version: str
    rows: int = Field(description="reference-sample rows the mean |SHAP value| is taken over")
    features: list[FeatureImportance] = Field(description="largest first")


class ImportanceStatus(BaseModel):
    model_version: str
    status: Status
    reason: str | None = None
    result: GlobalImportance | None = None
