"""Explainer fixtures: a small LightGBM ScoringModel on catalog feature names, its own MLflow server
(imported fixture, so a separate instance from the scoring tests' server whose registry they wipe),
a throwaway redis-server per test and real Celery worker processes."""

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from redis.asyncio import Redis
from scoring.conftest import mlflow_server  # noqa: F401  (a fixture: pytest finds it by name)

from explainer.stack import RedisServer, Worker, free_port, register_version
from services.explainer.client import ExplainerClient
from services.explainer.settings import ExplainerSettings
from services.model.calibration import fit_calibrator
from services.model.model import ScoringModel

NAMES = (
    "app_ext_source_3",
    "app_ext_source_2",
    "app_days_birth",
    "app_flag_email",
    "app_name_income_type_code",
)
VISIBILITY_SECONDS = 2
CLAIM_TTL_SECONDS = 600
T = TypeVar("T")


@dataclass(frozen=True)
class SmallModel:
    model: ScoringModel
    x: np.ndarray
    reference: pl.DataFrame


def small_model(rows: int = 3000, seed: int = 7) -> SmallModel:
    """Default risk falls with the external scores and age; some values missing, as in the real data."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([
        rng.uniform(0, 1, rows), rng.uniform(0, 1, rows), rng.uniform(-25_000, -7_000, rows),
        rng.integers(0, 2, rows), rng.integers(0, 8, rows),
    ]).astype(np.float64)  # fmt: skip
    z = -1.5 - 4 * (x[:, 0] - 0.5) - 2 * (x[:, 1] - 0.5) + 1e-4 * (x[:, 2] + 16_000) + 0.8 * (x[:, 4] == 2)
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    x[rng.random(rows) < 0.1, 0] = np.nan
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.1, "verbose": -1, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=list(NAMES)), num_boost_round=40)
    calibrator = fit_calibrator(booster.predict(x), y)
    pd_values = calibrator.transform(booster.predict(x))
    model = ScoringModel(booster, calibrator, float(np.quantile(pd_values, 0.7)), NAMES, "explainer-test")
    reference = pl.DataFrame(x[:1000], schema=list(NAMES), orient="row").with_columns(
        pl.Series("SK_ID_CURR", np.arange(1000)),
        pl.Series("TARGET", y[:1000]),
        pl.Series("PD", pd_values[:1000]),
        pl.Series("DECISION", model.decide(pd_values[:1000])),
    )
    return SmallModel(model, x, reference)


@pytest.fixture(scope="session")
def small() -> SmallModel:
    return small_model()


@pytest.fixture(scope="session")
def registered_version(small: SmallModel, mlflow_server: str) -> str:  # noqa: F811
    return register_version(small.model, small.reference, mlflow_server)


class Stack:
    """A throwaway redis-server, an ExplainerClient on it and the workers started on it. The client is
    async: `run` awaits its calls from these synchronous tests, all on one event loop (the loop its Redis
    connections belong to)."""

    def __init__(self, directory: Path, mlflow_uri: str) -> None:
        self.redis = RedisServer(directory)
        self.redis.start()
        self.settings = ExplainerSettings(
            redis_url=self.redis.url,
            mlflow_tracking_uri=mlflow_uri,
            visibility_timeout_s=VISIBILITY_SECONDS,
            retry_backoff_s=0.2,
        )
        self.loop = asyncio.Runner()
        self.client = ExplainerClient(
            Redis.from_url(self.redis.url, socket_timeout=5.0, socket_connect_timeout=5.0),
            self.settings,
            CLAIM_TTL_SECONDS,
        )
        self.log = directory / "worker.log"
        self.workers: list[Worker] = []

    def start_worker(self, **env: str) -> Worker:
        """A worker on this stack's Redis and MLflow; `env` overrides settings (e.g. a task delay)."""
        base = {
            "REDIS_URL": self.settings.redis_url,
            "MLFLOW_TRACKING_URI": self.settings.mlflow_tracking_uri,
            "EXPLAINER_VISIBILITY_TIMEOUT_S": str(self.settings.visibility_timeout_s),
            "EXPLAINER_RETRY_BACKOFF_S": str(self.settings.retry_backoff_s),
        }
        worker = Worker({**base, **env}, self.log, f"w{len(self.workers)}")
        worker.start()
        self.workers.append(worker)
        return worker

    def run(self, call: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(call)

    def received(self, task_id: str) -> int:
        """How many times workers logged receiving the task: proves whether a request made a new task."""
        return sum(f"[{task_id}] received" in line for line in self.log.read_text().splitlines())

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.client.close()
        self.run(self.client.redis.aclose())
        self.loop.close()
        self.redis.stop()


@pytest.fixture
def stack(tmp_path: Path, mlflow_server: str) -> Iterator[Stack]:  # noqa: F811
    """A stack of its own, for tests that kill or restart its parts; no worker started yet."""
    own = Stack(tmp_path, mlflow_server)
    yield own
    own.close()


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Stack]:  # noqa: F811
    """One running worker (serving /metrics) for tests that only submit, each its own vectors: saves worker
    start-ups."""
    shared = Stack(tmp_path_factory.mktemp("explainer"), mlflow_server)
    try:
        shared.start_worker(EXPLAINER_METRICS_PORT=str(free_port()))
        yield shared
    finally:
        shared.close()
