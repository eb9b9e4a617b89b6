"""Services of the platform as real child processes on free loopback ports, stoppable and restartable so
tests can take one down and bring it back."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
from explainer.stack import ChildProcess, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]


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
