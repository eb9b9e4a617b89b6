"""Gateway latency and throughput: `POST /v1/scores` through every hop (auth, rate limit, features, scoring,
explanation claimed and queued, decision logged) against uvicorn processes, loaded by wrk.

The data is the platform bench's (bench/platform.py): CLIENTS synthetic clients (20,000 training + 16 %
test clients by default) with built features, a champion trained by `credit train`, and new applicants
with their history rows. Every request is distinct — each known client is sent once across all phases
and no phase repeats another's — so each decision claims and queues its own explanation, as in
production; the explanation sends are counted (the explainer queue's length against the decisions
answered). No explainer worker and no drift scheduler run: their work would compete for the same cores
(bench/platform.py measures the whole platform).

Phases, in one run: known clients on one connection (p50/p99 a single front-office call sees), new
applications with history on one connection (the new-application path), known clients on CONCURRENCY
connections (req/s, CPU ms per request of each process from /proc). Errors count every non-2xx answer
and socket error. Redis fsyncs every second, as deployed.
`python -m bench gateway`; BENCH_GATEWAY_SECONDS sets each phase's length.
"""

import os
import tempfile
from pathlib import Path

from bench._measure import cpu_seconds
from bench._wrk import WrkRequest, load
from bench.platform import CLIENTS, Requests, Stack, answered_count, prepared, queued_count, running_stack

SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "15"))
WARMUP_SECONDS = 3
CONCURRENCY = 8  # connections for the throughput phase


def _phase(stack: Stack, bodies: list[WrkRequest], seconds: float, connections: int) -> dict[str, object]:
    headers = {"X-API-Key": stack.key, "Content-Type": "application/json"}
    figures = load(stack.gateway.url, bodies, headers, seconds, connections)
    return {**figures, "requests_reused": figures["requests"] > len(bodies)}


def _measure(stack: Stack, requests: Requests) -> dict[str, object]:
    """Known ids split between the phases (1/10 warm-up, 1/4 one connection, the rest concurrent): more
    than each phase sends, which `requests_reused` checks. Decisions and explanation sends are counted
    after the warm-up."""
    clients = len(requests.known)
    warmup = _phase(stack, requests.known_requests(clients // 10), WARMUP_SECONDS, CONCURRENCY)
    answered_before, queued_before = answered_count(stack), queued_count(stack)
    sequential = _phase(stack, requests.known_requests(clients // 4), SECONDS, 1)
    new = _phase(stack, requests.new_requests(len(requests.new)), SECONDS, 1)
    services = {
        s.name: s.process.pid for s in (stack.gateway, stack.features, stack.scoring, stack.monitoring)
    }
    before = {name: cpu_seconds(pid) for name, pid in services.items()}
    concurrent = _phase(stack, requests.known_requests(clients - requests.taken_known), SECONDS, CONCURRENCY)
    cpu_ms = {
        name: round(1000 * (cpu_seconds(pid) - before[name]) / max(int(concurrent["requests"]), 1), 3)
        for name, pid in services.items()
    }
    answered = answered_count(stack) - answered_before
    queued = queued_count(stack) - queued_before
    return {
        "p50_ms": sequential["p50_ms"],
        "p99_ms": sequential["p99_ms"],
        "new_application_p50_ms": new["p50_ms"],
        "new_application_p99_ms": new["p99_ms"],
        "rps": concurrent["rps"],
        "errors": sum(int(p["errors"]) for p in (sequential, new, concurrent)),
        "decisions_answered": answered,
        "explanations_queued": queued,
        "decisions_without_explanation_sent": answered - queued,
        "warmup_requests_reused": warmup["requests_reused"],
        "sequential": sequential,
        "new_application": new,
        "concurrent": concurrent,
        "cpu_ms_per_request": cpu_ms,
        "load_average": list(os.getloadavg()),
    }


def run() -> tuple[dict, dict]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        prepared(Path(tmp)) as data,
        running_stack(data.database_url, data.tracking_uri, Path(tmp), 0, False) as stack,
    ):
        figures = _measure(stack, Requests(data.known, data.new))
    params = {
        "clients": len(data.known),
        "training_clients": CLIENTS,
        "new_applicants": len(data.new),
        "seconds_per_phase": SECONDS,
        "concurrency": CONCURRENCY,
        "load_generator": "wrk -t1, every request distinct",
        "gateway_workers": 1,
        "explainer_worker": False,
        "model_version": data.version,
    }
    return params, figures
