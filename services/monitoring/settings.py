"""Settings of the monitoring service, its stream consumer and its drift jobs (environment variables
MONITORING_..., see services.common.settings)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, platform
from services.contracts.events import DECISIONS_STREAM, RECOURSE_STREAM, SHADOW_STREAM


class MonitoringSettings(ServiceSettings):
    """Stream names, consumer batching, window sizes and drift thresholds; every one has a local default."""

    model_config = SettingsConfigDict(env_prefix="MONITORING_")

    decisions_stream: str = platform(DECISIONS_STREAM, "DECISIONS_STREAM")
    shadow_stream: str = platform(SHADOW_STREAM, "SHADOW_STREAM")
    recourse_stream: str = platform(RECOURSE_STREAM, "RECOURSE_STREAM")
    consumer_group: str = "monitoring"
    consumer_name: str = ""  # empty: hostname-pid, unique per process
    consumer_batch: int = 500
    consumer_block_ms: int = 1000
    claim_idle_ms: int = 60_000  # entries a dead consumer left unacknowledged this long are taken over
    run_consumer: bool = True  # the service consumes the streams in a background thread
    model_digests: bool = True  # the service's consumer digests each model version it logs (replay)
    decision_retention_days: int = 2557  # 7 years: `credit decisions prune` drops older chain segments

    drift_window_rows: int = 20_000
    drift_min_rows: int = 200
    drift_share_threshold: float = 0.5  # Evidently's default: the dataset drifts when half its features do
    drift_report_features: int = 15  # most drifted features drawn in the HTML report
    drift_interval_s: float = 3600.0
    beat_schedule_file: str = ".run/celerybeat-schedule"  # beat's last-run times (runtime state)
    model_alias: str = platform("champion", "MODEL_ALIAS")
    # A scheduled drift run that finds dataset drift (or an estimated AUC below the validation AUC by more
    # than estimated_auc_margin) queues a retraining: a challenger awaiting approval, never a promotion.
    retrain_on_drift: bool = False
    retrain_on_estimated_auc: bool = False

    stats_window_hours: float = 24.0
    stats_cache_s: float = 10.0
    performance_window_days: float = 30.0
    vintage_months: int = 12  # vintages of the current month and this many before it
    vintage_cache_s: float = 300.0  # vintages change slowly and read a year of decisions
    estimated_auc_margin: float = 0.05  # alert when the estimated AUC is this far below validation
    top_drift_features: int = 10
    review_max_age_hours: float = 4.0  # alert when a decision has waited this long for an officer
