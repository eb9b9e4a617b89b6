"""Retraining requests, any trigger -> the training worker: the monitoring drift job (drift, estimated
performance), the training worker's own beat (schedule) and `credit model retrain` (manual) send one as
the kwargs of the Celery task RETRAIN_TASK on the queue TRAINING_QUEUE (services/training/tasks.py)."""

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

RETRAIN_TASK = "training.retrain"
TRAINING_QUEUE = "training"
REQUEST_FIELD = "request"  # the task's one keyword argument: the request as JSON


class Trigger(StrEnum):
    DRIFT = "drift"
    ESTIMATED_PERFORMANCE = "estimated_performance"
    SCHEDULE = "schedule"
    MANUAL = "manual"


class RetrainRequest(BaseModel):
    """Retrain on the latest labelled data because of `trigger`; a retraining that finishes after
    `requested_at` serves the request (so triggers during a running retraining start no second one)."""

    model_config = ConfigDict(extra="ignore")
    trigger: Trigger
    reason: str = Field(min_length=1, max_length=2000)
    requested_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    requested_by: str | None = Field(default=None, max_length=200)  # a person, for manual requests

    @property
    def author(self) -> str:
        """The retrained version's author: a machine, so four eyes need a human approver."""
        return f"retrain:{self.trigger.value}"
