"""A real Prometheus (Debian's package) over the platform's own config and alert rules, on chosen ports.

`prometheus.yml` names each service's default port; a local run (the demo, the tests) starts services
elsewhere, so the config is rendered with the ports in use: the same jobs, the same rules, other targets.
Jobs without a target are left out (a job nobody runs would only fire ServiceDown).

Dev and `make demo` (the Procfile):
    python infra/prometheus/server.py --data .run/demo/prometheus --port 9090 \
        --target gateway=127.0.0.1:8000 --target monitoring=127.0.0.1:8003 ...
Tests use `serve(...)`, which waits until Prometheus is ready and stops it on exit.
"""

import argparse
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from services.common.launch import wait_until_answering

HERE = Path(__file__).resolve().parent
STARTUP_SECONDS = 60


def render(targets: dict[str, str], interval: str) -> str:
    """prometheus.yml with `targets` (job -> host:port), the rules by absolute path, the given interval."""
    config = yaml.safe_load((HERE / "prometheus.yml").read_text())
    unknown = set(targets) - {job["job_name"] for job in config["scrape_configs"]}
    if unknown:
        raise ValueError(f"no scrape job named {sorted(unknown)} in prometheus.yml")
    config["global"] = {**config["global"], "scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(HERE / "rules" / "*.yml")]
    config["scrape_configs"] = [  # a job's own timeout may exceed a short interval: the interval bounds it
        {**_without(job, "scrape_timeout"), "static_configs": [{"targets": [targets[job["job_name"]]]}]}
        for job in config["scrape_configs"]
        if job["job_name"] in targets
    ]
    return yaml.safe_dump(config, sort_keys=False)


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def command(config: Path, data: Path, port: int) -> list[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise FileNotFoundError("prometheus not found: run scripts/install-system-deps.sh")
    return [binary, f"--config.file={config}", f"--storage.tsdb.path={data / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip


def write_config(data: Path, targets: dict[str, str], interval: str) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    path = data / "prometheus.yml"
    path.write_text(render(targets, interval))
    return path


@contextmanager
def serve(data: Path, port: int, targets: dict[str, str], interval: str = "1s") -> Iterator[str]:
    """Prometheus on 127.0.0.1:`port` scraping `targets`; yields its URL once ready, stops it after."""
    config, log = write_config(data, targets, interval), data / "prometheus.log"
    with log.open("ab") as out:
        process = subprocess.Popen(command(config, data, port), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/-/ready", process, log, STARTUP_SECONDS, poll_s=0.25)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder for the config, TSDB and log")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--interval", default="5s", help="scrape and rule evaluation interval")
    parser.add_argument("--target", action="append", default=[], help="JOB=HOST:PORT, once per job")
    args = parser.parse_args()
    targets = dict(item.split("=", 1) for item in args.target)
    config = write_config(args.data, targets, args.interval)
    binary, *rest = command(config, args.data, args.port)
    os.execv(binary, [binary, *rest])


if __name__ == "__main__":
    main()
