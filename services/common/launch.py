"""Waiting for a server started as a child process (the MLflow and Prometheus launchers in infra/)."""

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_answering(
    url: str, process: subprocess.Popen, log: Path, seconds: float, poll_s: float
) -> None:
    """Return once `url` answers 200; raise with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(poll_s)
    raise RuntimeError(f"{url} did not answer within {seconds} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
