"""The serving stacks a team would pick instead of ours, run on the same booster for bench/scoring.py:
MLServer with its LightGBM runtime (V2 inference protocol, adaptive batching off and on) and BentoML.

Each runs from its own virtual environment under bench/.venvs/ (their pins differ from ours: MLServer
brings its own FastAPI and Pydantic), created from the pinned bench/alternatives/<name>/requirements.txt
the first time, or when that file changes, from the package index like `make install`.
"""

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENVS = BENCH / ".venvs"
SPECS = BENCH / "alternatives"


def environment(name: str) -> Path:
    """The bin/ folder of the virtual environment for `name`, installed from its pinned requirements."""
    requirements = SPECS / name / "requirements.txt"
    venv = VENVS / name
    stamp = venv / ".requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(requirements)], check=True)
        stamp.write_text(digest)
    return venv / "bin"


@dataclass(frozen=True)
class Server:
    """How bench/scoring.py starts one server and what one prediction request to it looks like."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    ready_path: str
    predict_path: str = ""
    body: dict = field(default_factory=dict)


def mlserver(
    tmp: Path, booster: Path, row: list[float], ports: tuple[int, int, int], batching: bool
) -> Server:
    """MLServer 1.7 defaults (one inference worker process) with the LightGBM runtime; with batching,
    up to 8 requests wait at most 5 ms to be predicted together."""
    name = "mlserver_batching" if batching else "mlserver"
    root = tmp / name
    model = root / "credit"
    model.mkdir(parents=True)
    batch = {"max_batch_size": 8, "max_batch_time": 0.005} if batching else {}
    settings = {"name": "credit", "implementation": "mlserver_lightgbm.LightGBMModel",
                "parameters": {"uri": str(booster)}, **batch}  # fmt: skip
    (model / "model-settings.json").write_text(json.dumps(settings))
    http, grpc, metrics = ports
    server = {"http_port": http, "grpc_port": grpc, "metrics_port": metrics, "debug": False}
    (root / "settings.json").write_text(json.dumps(server))
    body = {"inputs": [{"name": "features", "shape": [1, len(row)], "datatype": "FP64", "data": row}]}
    command = [str(environment("mlserver") / "mlserver"), "start", str(root)]
    return Server(name, command, {}, root, http, "/v2/health/ready", "/v2/models/credit/infer", body)


def bentoml(booster: Path, row: list[float], port: int) -> Server:
    bin_dir = environment("bentoml")
    command = [str(bin_dir / "bentoml"), "serve", "service:CreditBooster", "--port", str(port)]
    env = {"BENCH_BOOSTER_FILE": str(booster), "BENTOML_HOME": str(VENVS / "bentoml-home")}
    return Server("bentoml", command, env, SPECS / "bentoml", port, "/readyz", "/predict", {"features": row})
