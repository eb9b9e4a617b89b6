"""Explainer -> gateway: explanation results, their status records, recourse offers and global importance.

The explainer worker writes these (services/explainer), the gateway returns them as they are, monitoring
stores the recourse with the decision record."""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

Direction = Literal["raises risk", "lowers risk"]


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Contribution(BaseModel):
    feature: str
    label: str = Field(description="the feature in plain words")
    family: str = Field(description="the reason family it belongs to")
    value: float | None = Field(description="the feature's value; null = missing")
    shap_value: float = Field(description="contribution to the raw margin (log-odds of default)")
    direction: Direction


class FamilyContribution(BaseModel):
    family: str
    title: str = Field(description="the family in plain words")
    shap_value: float = Field(description="sum of its features' contributions (log-odds of default)")
    direction: Direction


class PrincipalReason(BaseModel):
    family: str
    title: str
    direction: Direction
    features: list[str] = Field(description="the leading features the text names, strongest first")
    text: str = Field(
        description="plain language, e.g. "
        '"External credit scores: external score 3 is 0.12, below the 0.53 typical of repaid clients. '
        'This raises the risk."'
    )


class RecourseOffer(BaseModel):
    kind: Literal["smaller_loan", "down_payment", "longer_term"]
    changes: dict[str, float] = Field(
        description="changed application fields by their Kaggle names -> new values: apply them to the "
        "application and resubmit it as it is"
    )
    pd: float = Field(description="calibrated probability of default of the changed application")
    text: str = Field(description="the offer in the customer's words")


class Recourse(BaseModel):
    """What would change a refusal or a review (services/explainer/recourse.py)."""

    model_config = {
        "json_schema_extra": {
            "example": {
                "offers": [
                    {
                        "kind": "smaller_loan",
                        "changes": {
                            "AMT_CREDIT": 450000.0,
                            "AMT_ANNUITY": 22500.0,
                            "AMT_GOODS_PRICE": 405000.0,
                        },
                        "pd": 0.071,
                        "text": "A loan of 450,000 instead of 600,000, over the same term (monthly payment "
                        "22,500), would be approved.",
                    }
                ],
                "statement": "A loan of 450,000 instead of 600,000, over the same term (monthly payment "
                "22,500), would be approved.",
            }
        }
    }

    offers: list[RecourseOffer] = Field(description="up to one per kind, each scored and approved")
    statement: str = Field(description="the offers in one sentence, or why there is none")


class Explanation(BaseModel):
    model_version: str
    client_id: int | None
    base_value: float = Field(description="expected raw margin over the training data (log-odds)")
    raw_margin: float = Field(description="base_value + the sum of every feature's SHAP value")
    pd: float = Field(description="calibrated probability of default")
    decision: Literal["approved", "review", "refused"]
    threshold: float
    contributions: list[Contribution] = Field(description="top-k features by |SHAP value|")
    families: list[FamilyContribution] = Field(
        description="every family's summed contribution, largest |sum| first; "
        "base_value + their sum = raw_margin"
    )
    principal_reasons: list[PrincipalReason] = Field(
        description="what the customer is told: for refused and review up to four families raising the "
        "risk, for approved up to four strengths; strongest first, gender never"
    )
    recourse: Recourse | None = Field(
        default=None, description="for refused and review: the offers that would be approved; null = approved"
    )


class ExplanationStatus(BaseModel):
    explanation_id: str
    status: Status
    reason: str | None = Field(default=None, description="why it failed")
    result: Explanation | None = None


class FeatureImportance(BaseModel):
    feature: str
    label: str
    family: str
    mean_abs_shap: float


class FamilyImportance(BaseModel):
    family: str
    title: str
    mean_abs_shap: float = Field(description="mean over the rows of |the family's summed contribution|")


class GlobalImportance(BaseModel):
    model_version: str
    rows: int = Field(description="reference-sample rows the mean |SHAP value| is taken over")
    features: list[FeatureImportance] = Field(description="largest first")
    families: list[FamilyImportance] = Field(description="largest first")


class ImportanceStatus(BaseModel):
    model_version: str
    status: Status
    reason: str | None = None
    result: GlobalImportance | None = None
