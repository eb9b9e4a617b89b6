"""scripts/ensure-services.sh, run by `make demo` and `make test`: it uses the Postgres and Redis that answer,
starts throwaway ones from the binaries on PATH, or says what to install."""

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from loopback.processes import free_port
from tests.deploy.stack import REPO

SCRIPT = REPO / "scripts" / "ensure-services.sh"


def stop(pid_file: Path) -> None:
    """Postgres and Redis both write their pid on the first line of a file in their folder."""
    if pid_file.exists():
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """Readable by all: a root caller hands the Postgres folder to the postgres account, which must reach
    it; the servers started in it are stopped afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ensure-services-"))
    path.chmod(0o755)
    yield path
    stop(path / "postgres" / "data" / "postmaster.pid")
    stop(path / "redis" / "redis.pid")
    shutil.rmtree(path, ignore_errors=True)


def ensure(
    run_dir: Path, pg_port: int, redis_port: int, path: str | None = None
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "POSTGRES_PORT": str(pg_port),
        "REDIS_PORT": str(redis_port),
        "SERVICES_RUN_DIR": str(run_dir),
        **({"PATH": path} if path else {}),
    }
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def test_starts_throwaway_servers_when_none_answer_then_reuses_them(run_dir: Path) -> None:
    pg_port, redis_port = free_port(), free_port()
    first = ensure(run_dir, pg_port, redis_port)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "starting a throwaway PostgreSQL" in first.stdout and "starting a throwaway Redis" in first.stdout
    conn = psycopg2.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname="postgres")
    try:
        assert conn.server_version > 0
    finally:
        conn.close()
    assert redis.Redis(port=redis_port).ping()

    again = ensure(run_dir, pg_port, redis_port)
    assert again.returncode == 0, again.stderr
    assert "throwaway" not in again.stdout


def test_says_what_to_install_when_nothing_answers_and_no_binary_is_on_path(run_dir: Path) -> None:
    """PATH holds only the few tools the script itself needs: no initdb, no redis-server."""
    bin_dir = run_dir / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "id", "cat", "mkdir"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = ensure(run_dir, free_port(), free_port(), path=str(bin_dir))
    assert result.returncode == 1
    assert "PostgreSQL (port" in result.stderr and "initdb is not on PATH" in result.stderr
    assert "sudo apt-get install postgresql" in result.stderr and "brew install postgresql" in result.stderr
