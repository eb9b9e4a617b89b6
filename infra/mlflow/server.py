"""A real `mlflow server`: Postgres backend store, local artifact root served through the server.

Dev and `make demo`:
    python infra/mlflow/server.py --database-url postgresql://postgres@127.0.0.1:5432/mlflow \
        --artifacts .run/mlartifacts --port 5000
Tests and benchmarks use `serve(...)`, which starts it in its own process group, waits until it is
healthy and stops the whole group (the server runs uvicorn as a child) on exit.
"""

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.common.db import ensure_database
from services.common.launch import wait_until_answering

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mlflow"
STARTUP_SECONDS = 300  # the first start creates the schema: slow on a busy 2-core machine


def server_command(database_url: str, artifacts: Path, host: str, port: int) -> list[str]:
    """One worker is plenty for training clients and keeps tests light on 2 cores."""
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    return [
        mlflow, "server",
        "--backend-store-uri", database_url.replace("postgresql://", "postgresql+psycopg2://", 1),
        "--artifacts-destination", str(artifacts.resolve()),
        "--serve-artifacts",
        "--host", host,
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip


def server_environment() -> dict[str, str]:
    """The job runner serves GenAI features this project does not use; it costs seven processes."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


@contextmanager
def serve(database_url: str, artifacts: Path, port: int, log: Path) -> Iterator[str]:
    """A healthy server on 127.0.0.1:`port` for the duration of the block; yields its URI."""
    ensure_database(database_url)
    artifacts.mkdir(parents=True, exist_ok=True)
    command = server_command(database_url, artifacts, "127.0.0.1", port)
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=server_environment(), start_new_session=True
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{uri}/health", process, log, STARTUP_SECONDS, poll_s=0.5)
        yield uri
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("MLFLOW_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--artifacts", type=Path, default=Path(".run/mlartifacts"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    command = server_command(args.database_url, args.artifacts, args.host, args.port)
    os.execve(command[0], command, server_environment())


if __name__ == "__main__":
    main()
