"""HTTP load from `wrk` for the service benchmarks: a C load generator takes a fraction of a core, where
Python clients took one of the machine's two and starved the services they measured.

`load()` runs wrk with bench/_wrk.lua over pre-built requests (cycled in order, so a run is repeatable)
and returns its figures. Errors count every answer outside 2xx plus every socket error and timeout.
wrk is a Debian package (scripts/install-system-deps.sh installs it).
"""

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("_wrk.lua")
MARKER = "WRK_JSON "


@dataclass(frozen=True)
class WrkRequest:
    method: str
    path: str
    body: str = ""


def load(
    base_url: str,
    requests: Sequence[WrkRequest],
    headers: Mapping[str, str],
    seconds: float,
    connections: int,
    timeout_s: int = 5,
) -> dict[str, float | int]:
    """`connections` keep-alive connections, each sending its next request as soon as the last is
    answered, for `seconds`: requests, rps, p50/p90/p99/max latency (ms) and errors."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found: run scripts/install-system-deps.sh")
    with tempfile.TemporaryDirectory(prefix="bench_wrk_") as tmp:
        spec = Path(tmp) / "requests.lua"
        spec.write_text(_lua_spec(requests, headers))
        command = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                   f"--timeout={timeout_s}s", "-s", str(SCRIPT), base_url, "--", str(spec)]  # fmt: skip
        finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk against {base_url} failed: {(finished.stderr or finished.stdout)[-2000:]}")
    return _figures(_report(finished.stdout))


def _lua_spec(requests: Sequence[WrkRequest], headers: Mapping[str, str]) -> str:
    """The requests as a Lua table literal, strings in level-3 long brackets (no escaping needed)."""
    texts = [r.method for r in requests] + [r.path for r in requests] + [r.body for r in requests]
    texts += [*headers.keys(), *headers.values()]
    if any("]===]" in text for text in texts):
        raise ValueError("a request contains the Lua long-bracket terminator ]===]")
    header_rows = "".join(f"[ [===[{k}]===] ] = [===[{v}]===], " for k, v in headers.items())
    rows = "".join(
        f"{{method = [===[{r.method}]===], path = [===[{r.path}]===], body = [===[{r.body}]===]}},\n"
        for r in requests
    )
    return f"return {{headers = {{{header_rows}}}, requests = {{\n{rows}}}}}\n"


def _report(stdout: str) -> dict[str, float]:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line.removeprefix(MARKER))
    raise RuntimeError(f"wrk printed no {MARKER.strip()} line:\n{stdout[-2000:]}")


def _figures(report: Mapping[str, float]) -> dict[str, float | int]:
    socket_errors = sum(int(report[kind]) for kind in ("connect", "read", "write", "timeout"))
    return {
        "requests": int(report["requests"]),
        "rps": round(report["requests"] / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 3),
        "p90_ms": round(report["p90_us"] / 1000, 3),
        "p99_ms": round(report["p99_us"] / 1000, 3),
        "max_ms": round(report["max_us"] / 1000, 3),
        "errors": int(report["non_2xx"]) + socket_errors,
        "non_2xx": int(report["non_2xx"]),
        "socket_errors": socket_errors,
    }
