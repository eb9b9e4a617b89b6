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
applications with history on one connection (the new-application path), the same path on one connection
again with the features service's time taken out of each answer (the gateway's own overhead, whatever
the on-the-fly features cost), known clients on CONCURRENCY connections (req/s, CPU ms per request of
each process from /proc). Errors count every non-2xx answer and socket error. Redis fsyncs every second,
as deployed. `python -m bench gateway`; BENCH_GATEWAY_SECONDS sets each phase's length.
"""

import http.client
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

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


def _without_features(stack: Stack, bodies: list[str], seconds: float) -> dict[str, object]:
    """New applications on one connection for `seconds`, each answer's latency less the features service's
    share of it (the gateway's `Server-Timing`). wrk cannot pair the two per request, so this phase is a
    blocking stdlib client: one request at a time, its own work falls between the gateway's."""
    address = urlsplit(stack.gateway.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"X-API-Key": stack.key, "Content-Type": "application/json"}
    whole, own, errors = [], [], 0
    deadline = time.monotonic() + seconds
    for body in bodies:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        connection.request("POST", "/v1/scores", body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        latency_ms = 1000 * (time.perf_counter() - started)
        if response.status != 200:
            errors += 1
            continue
        timings = dict(part.split(";dur=") for part in response.getheader("Server-Timing", "").split(", "))
        whole.append(latency_ms)
        own.append(latency_ms - float(timings["features"]))
    else:
        raise RuntimeError(
            f"all {len(bodies)} new applications sent before {seconds} s: raise BENCH_PLATFORM_NEW"
        )
    connection.close()
    percentiles = np.percentile([whole, own], [50, 99], axis=1).round(3)
    return {
        "requests": len(whole) + errors,
        "errors": errors,
        "p50_ms": percentiles[0][0],
        "p99_ms": percentiles[1][0],
        "without_features_p50_ms": percentiles[0][1],
        "without_features_p99_ms": percentiles[1][1],
    }


def _measure(stack: Stack, requests: Requests) -> dict[str, object]:
    """Known ids split between the phases (1/10 warm-up, 1/4 one connection, the rest concurrent): more
    than each phase sends, which `requests_reused` checks. Decisions and explanation sends are counted
    after the warm-up."""
    clients = len(requests.known)
    warmup = _phase(stack, requests.known_requests(clients // 10), WARMUP_SECONDS, CONCURRENCY)
    answered_before, queued_before = answered_count(stack), queued_count(stack)
    sequential = _phase(stack, requests.known_requests(clients // 4), SECONDS, 1)
    new = _phase(stack, requests.new_requests(len(requests.new) // 2), SECONDS, 1)
    own = _without_features(stack, requests.take_new(len(requests.new) - requests.taken_new), SECONDS)
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
        "new_application_without_features_p50_ms": own["without_features_p50_ms"],
        "new_application_without_features_p99_ms": own["without_features_p99_ms"],
        "rps": concurrent["rps"],
        "errors": sum(int(p["errors"]) for p in (sequential, new, own, concurrent)),
        "decisions_answered": answered,
        "explanations_queued": queued,
        "decisions_without_explanation_sent": answered - queued,
        "warmup_requests_reused": warmup["requests_reused"],
        "sequential": sequential,
        "new_application": new,
        "new_application_without_features": own,
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
