"""Settings of the training worker (retraining jobs and their schedule), from environment variables
(TRAINING_..., see services.common.settings)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings


class TrainingSettings(CommonSettings):
    """The retraining budget, its schedule and the broker's redelivery of a killed worker's job."""

    model_config = SettingsConfigDict(env_prefix="TRAINING_")

    # `credit train`'s defaults (TrainingConfig), written out: enqueuing a job must not import LightGBM.
    trials: int = Field(default=6, ge=0)
    folds: int = Field(default=5, ge=2, le=10)
    threads: int = Field(default=2, ge=1)
    seed: int = 42
    experiment: str = "credit-scoring"
    # A scheduled retraining every this many seconds; 0 = none (drift and estimated-performance triggers,
    # and `credit model retrain`, still start one).
    retrain_interval_s: float = Field(default=0.0, ge=0.0)
    beat_schedule_file: str = ".run/training-beat-schedule"  # beat's last-run times (runtime state)
    # A job taken by a worker that dies is redelivered after this many seconds. Keep it above the longest
    # retraining: a live job redelivered early only finds the lock held and stops (tasks.py).
    visibility_timeout_s: int = Field(default=21_600, ge=1)
    # Test-only: sleep this long inside the job, lock held, so a test can trigger or kill mid-job.
    task_delay_s: float = 0.0
