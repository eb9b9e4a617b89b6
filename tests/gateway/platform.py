"""The whole platform on loopback for gateway tests and the gateway benchmark: Postgres with real rows and
built features, a throwaway redis-server, a champion model in a given MLflow server, the features, scoring,
monitoring and gateway services as uvicorn processes and (optionally) a Celery explainer worker."""

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import redis
from explainer.stack import RedisServer, Worker, free_port, register_version
from features.conftest import write_joined_real_rows
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score
from sqlalchemy.engine import make_url

from gateway.processes import Service
from services.common.db import drop_database
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.data.loader import load_directory
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.features.build import build
from services.gateway.settings import GatewaySettings
from services.model.calibration import fit_calibrator
from services.model.model import ScoringModel
from services.model.policy import REVIEW_SHARE, InputProfile, ReviewBand
from services.model.registry import MODEL_NAME


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


# What the platform's champion "saw in training": the features' vectors are not its random training rows,
# so the profile is set by hand, one rule of each kind the gateway tests exercise.
PROFILE = InputProfile(
    ranges={"app_amt_income_total": (25_000.0, 5_000_000.0)},
    categories={"app_code_gender_code": (0.0, 1.0)},  # F, M: XNA is unseen
    relied_on=("app_ext_source_1", "app_ext_source_2", "app_ext_source_3"),
    min_present=1,
)


def champion_on_catalog_names(
    tracking_uri: str, rows: int = 2000, seed: int = 11, alias: str = "champion"
) -> str:
    """A small LightGBM ScoringModel over the catalog's feature names (so the features service's vectors fit
    it), registered as the training pipeline lays it out (with its AUC as `val_roc_auc`) and given `alias`;
    returns its version. Risk falls with the external scores, as in the real data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(NAMES)))
    safe = [NAMES.index(n) for n in ("app_ext_source_2", "app_ext_source_3")]
    y = (rng.random(rows) < 1 / (1 + np.exp(1.5 + x[:, safe].sum(axis=1)))).astype(int)
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.1, "verbose": -1, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=list(NAMES)), num_boost_round=30)
    calibrator = fit_calibrator(booster.predict(x), y)
    pd_values = calibrator.transform(booster.predict(x))
    threshold = float(np.quantile(pd_values, 0.8))
    review = ReviewBand.around(pd_values, threshold, REVIEW_SHARE)
    model = ScoringModel(booster, calibrator, threshold, NAMES, FEATURE_SET_HASH, review, PROFILE)
    reference = pl.DataFrame(x[:300], schema=list(NAMES), orient="row").with_columns(
        pl.Series("SK_ID_CURR", np.arange(300)),
        pl.Series("TARGET", y[:300]),
        pl.Series("PD", pd_values[:300]),
        pl.Series("DECISION", model.decide(pd_values[:300])),
    )
    version = register_version(model, reference, tracking_uri)
    client = MlflowClient(tracking_uri)
    client.set_model_version_tag(MODEL_NAME, version, "val_roc_auc", f"{roc_auc_score(y, pd_values):.6f}")
    client.set_registered_model_alias(MODEL_NAME, alias, version)
    return version


def _throwaway_url() -> str:
    base = make_url(CommonSettings().database_url)
    return base.set(database=f"credit_test_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)


def _database_with_features(real_data_dir: Path, work: Path) -> tuple[str, list[int]]:
    url = _throwaway_url()
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
