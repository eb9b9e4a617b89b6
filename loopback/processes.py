"""Child processes on free loopback ports: a throwaway redis-server, Celery explainer workers, uvicorn
services and the MLflow tracking server, each stoppable and restartable so a test can take one down."""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from loopback.databases import throwaway_url
from services.common.db import drop_database

REPO = Path(__file__).resolve().parents[1]
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
    """`celery -A APP worker` as a child process, one solo-pool process: the explainer's by default, or
    another app (`app="services.training.tasks"`) on its queue."""

    def __init__(
        self, env: dict[str, str], log: Path, name: str, app: str = "services.explainer.celery_app"
    ) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.name = name
        self.app = app
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", self.app, "worker",
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


class Service(ChildProcess):
    """`uvicorn MODULE:app` on its own port; ready once /readyz answers 200."""

    def __init__(self, name: str, app: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.app = app
        self.env = {**os.environ, **env}
        self.log = log_dir / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )
        wait_for(self._healthy, f"{self.name} ready (log {self.log})")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


# infra/ is not an installed package: load the launcher the dev scripts use from its file.
_spec = importlib.util.spec_from_file_location("mlflow_server", REPO / "infra" / "mlflow" / "server.py")
_mlflow_launcher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mlflow_launcher)


@contextmanager
def tracking_server(directory: Path) -> Iterator[str]:
    """`infra/mlflow/server.py` on a free port, its backend store in a throwaway database dropped after."""
    db_url = throwaway_url("mlflow_test")
    try:
        with _mlflow_launcher.serve(
            db_url, directory / "artifacts", free_port(), directory / "server.log"
        ) as uri:
            yield uri
    finally:
        drop_database(db_url)
