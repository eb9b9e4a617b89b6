"""The whole platform on loopback for the gateway tests and the gateway benchmark: Postgres with real rows
and built features, a throwaway redis-server, a champion model in a given MLflow server, the features,
scoring, monitoring and gateway services as uvicorn processes and (optionally) a Celery explainer worker.

The real history heads do not join with the application sample, so `write_joined_real_rows` re-keys them
onto sample applications: values stay real, and every history table has clients to aggregate over.
"""

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import redis

from loopback.databases import throwaway_url
from loopback.processes import RedisServer, Service, Worker, free_port
from loopback.registry import champion_on_catalog_names
from services.common.db import drop_database
from services.common.migrations import migrate
from services.data.loader import load_directory
from services.feature_store.build import build
from services.gateway.settings import GatewaySettings

APPLICATIONS = 250  # sample applications in the joined set
WITH_HISTORY = 60  # of which this many receive the re-keyed history rows
HISTORY_FILES = (
    "bureau.csv",
    "previous_application.csv",
    "POS_CASH_balance.csv",
    "installments_payments.csv",
    "credit_card_balance.csv",
)


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)  # strings: values are written back exactly as read


def _rekey(frame: pl.DataFrame, column: str, targets: list[str]) -> pl.DataFrame:
    """Map each distinct value of `column`, in order of appearance, onto `targets` cyclically."""
    distinct = frame[column].unique(maintain_order=True).to_list()
    mapping = {value: targets[i % len(targets)] for i, value in enumerate(distinct)}
    return frame.with_columns(pl.col(column).replace_strict(mapping))


def write_joined_real_rows(real_data_dir: Path, out: Path) -> list[int]:
    """Real sample applications + real history heads re-keyed onto them; returns the application ids."""
    heads = real_data_dir / "heads"
    applications = _read(real_data_dir / "application_train_sample.csv").head(APPLICATIONS)
    applications.write_csv(out / "application_train.csv")
    ids = applications["SK_ID_CURR"].to_list()
    for name in HISTORY_FILES:
        _rekey(_read(heads / name), "SK_ID_CURR", ids[:WITH_HISTORY]).write_csv(out / name)
    bureau_ids = _read(out / "bureau.csv")["SK_ID_BUREAU"].to_list()
    _rekey(_read(heads / "bureau_balance.csv"), "SK_ID_BUREAU", bureau_ids).write_csv(
        out / "bureau_balance.csv"
    )
    return [int(i) for i in ids]


@dataclass(frozen=True)
class Platform:
    database_url: str
    client_ids: list[int]
    redis: RedisServer
    features: Service
    scoring: Service
    monitoring: Service
    gateway: Service
    worker: Worker | None
    model_version: str
    worker_metrics: str | None = None  # host:port of the worker's /metrics

    def settings(self, **overrides: object) -> GatewaySettings:
        """Settings of an in-process gateway over this platform."""
        urls = {
            "database_url": self.database_url,
            "redis_url": self.redis.url,
            "features_url": self.features.url,
            "scoring_url": self.scoring.url,
            "monitoring_url": self.monitoring.url,
        }
        return GatewaySettings(**{**urls, **overrides})

    def stream(self, name: str) -> list[dict[str, object]]:
        """Every entry's decoded `data` field of a Redis stream, oldest first."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            return [json.loads(fields[b"data"]) for _, fields in client.xrange(name)]
        finally:
            client.close()


def _database_with_features(real_data_dir: Path, work: Path) -> tuple[str, list[int]]:
    url = throwaway_url()
    migrate(url)
    ids = write_joined_real_rows(real_data_dir, work)
    load_directory(url, work)
    build(url)
    return url, ids


@contextmanager
def running_platform(
    real_data_dir: Path,
    work: Path,
    tracking_uri: str,
    rate_limit: str,
    with_worker: bool = True,
    redis_appendfsync: str = "always",
) -> Iterator[Platform]:
    """Everything up and ready (parts start side by side); all stopped and the database dropped after.
    Redis fsyncs every write by default (tests lose nothing); the benchmark uses Compose's "everysec"."""
    (work / "rows").mkdir(parents=True)
    url, ids = _database_with_features(real_data_dir, work / "rows")
    version = champion_on_catalog_names(tracking_uri)
    redis = RedisServer(work, redis_appendfsync)
    env = {"DATABASE_URL": url, "REDIS_URL": redis.url, "MLFLOW_TRACKING_URI": tracking_uri}
    features = Service("features", "services.features.app:app", env, work)
    scoring = Service("scoring", "services.scoring.app:app", {**env, "FEATURES_URL": features.url}, work)
    # figures a test just caused, not cached ones
    fresh = {"MONITORING_STATS_CACHE_S": "1", "MONITORING_VINTAGE_CACHE_S": "1"}
    monitoring = Service("monitoring", "services.monitoring.app:app", {**env, **fresh}, work)
    gateway_env = {
        **env,
        "FEATURES_URL": features.url,
        "SCORING_URL": scoring.url,
        "MONITORING_URL": monitoring.url,
        "GATEWAY_RATE_LIMIT": rate_limit,
    }
    gateway = Service("gateway", "services.gateway.app:app", gateway_env, work)
    worker_metrics = f"127.0.0.1:{free_port()}"
    worker_env = {**env, "EXPLAINER_METRICS_PORT": worker_metrics.rsplit(":", 1)[1]}
    worker = Worker(worker_env, work / "worker.log", f"gw-{uuid.uuid4().hex[:6]}") if with_worker else None
    parts = [redis, features, scoring, monitoring, gateway, *([worker] if worker else [])]
    try:
        redis.start()
        with ThreadPoolExecutor(len(parts)) as pool:
            list(pool.map(lambda part: part.start(), parts[1:]))
        yield Platform(
            url, ids, redis, features, scoring, monitoring, gateway, worker, version,
            worker_metrics if with_worker else None,
        )  # fmt: skip
    finally:
        for part in reversed(parts):
            part.stop()
        drop_database(url)
