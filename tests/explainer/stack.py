"""The explainer's parts for its tests: a throwaway redis-server, an ExplainerClient on it, Celery workers."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from redis.asyncio import Redis

from loopback.processes import RedisServer, Worker
from services.explainer.client import ExplainerClient
from services.explainer.settings import ExplainerSettings

VISIBILITY_SECONDS = 2
CLAIM_TTL_SECONDS = 600
T = TypeVar("T")


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
