"""Real processes for explainer tests and the benchmark: a throwaway redis-server, Celery workers, and a
ScoringModel registered in MLflow in the training pipeline's artifact layout."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import polars as pl
import redis
from mlflow import MlflowClient

from services.model.model import ScoringModel
from services.model.registry import MODEL_NAME

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240  # generous: worker start-up imports mlflow and lightgbm, slow on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: object, what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not reached within {seconds}s")


class ChildProcess:
    """A started child process the tests may kill (a crash) or stop (a clean shutdown)."""

    process: subprocess.Popen | None  # set by each subclass's __init__, None until started

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no chance to acknowledge, requeue or clean up."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            self.process = None


class RedisServer(ChildProcess):
    """redis-server on a free port with an append-only file, so a restart keeps queue and records.

    `appendfsync` "always" (tests) loses nothing on a crash; "everysec" (benchmark) is Redis' usual trade.
    """

    def __init__(self, directory: Path, appendfsync: str = "always") -> None:
        self.directory = directory
        self.appendfsync = appendfsync
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "yes", "--appendfsync", self.appendfsync,
                   "--dir", str(self.directory)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client), "redis-server ping")


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class Worker(ChildProcess):
    """`celery -A services.explainer.celery_app worker` as a child process, one solo-pool process."""

    def __init__(self, env: dict[str, str], log: Path, name: str) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.name = name
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "services.explainer.celery_app", "worker",
                   "--pool", "solo", "--concurrency", "1", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"{self.name}@%h"]  # fmt: skip
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )
        try:
            wait_for(lambda: self._ready_since(offset), f"worker {self.name} ready (log {self.log})")
        except BaseException:
            self.kill()
            raise

    def _ready_since(self, offset: int) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log.read_text()[-3000:]}")
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return b" ready." in handle.read()

    def pause(self) -> None:
        """SIGSTOP: the worker takes nothing while a benchmark queues a burst."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def register_version(model: ScoringModel, reference: pl.DataFrame, tracking_uri: str) -> str:
    """Log `scoring/` and `reference_sample.parquet` as the training pipeline does; register a version."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("explainer-tests")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run() as run:
        model.save(Path(tmp) / "scoring")
        mlflow.log_artifacts(str(Path(tmp) / "scoring"), "scoring")
        reference.write_parquet(Path(tmp) / "reference_sample.parquet")
        mlflow.log_artifact(str(Path(tmp) / "reference_sample.parquet"))
    client = MlflowClient(tracking_uri)
    if not client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, f"runs:/{run.info.run_id}/scoring", run.info.run_id)
    return str(version.version)
