"""The whole platform under a front-office mix: `make bench B=platform` (B=platform_faults adds faults).

What runs is what `make demo` runs, as local processes: Postgres with CLIENTS synthetic clients and their
built features, a model trained by `credit train` and made champion in an MLflow server, Redis with the
deployed fsync policy (everysec), the features, scoring, monitoring (with its stream consumer) and gateway
services, EXPLAINER_WORKERS Celery explainer workers and the monitoring scheduler (Celery beat, drift jobs).

Load comes from wrk over requests that are all distinct: about 80 % known clients drawn without
replacement from every id, 20 % new applications (another synthetic population, ids moved out of the
known range) with their history rows in the body, so no answer is served from a cache warmed by reuse.
Short probes at rising connection counts pick the highest rate whose p99 stays within P99_TARGET_MS;
the main run then lasts SECONDS on requests no probe sent. wrk's latency is the mix's; a sampler sends a
few requests of each kind inside the same load (requests wrk never sends) for per-kind latency and polls
their explanations for the turnaround.

Once the load stops, the platform is given CATCH_UP_S to finish its backlog; then every decision is
checked end to end: answered (the gateway's decision counter), logged (rows of the Postgres decision
log), explained (a done explanation record for the decision's explanation id) and `lost` = answered but
not logged + logged but not explained. With faults, the explainer worker is killed with SIGKILL and
restarted, Redis is restarted and the monitoring service (its consumer) is stopped for 10 s, all under
the same load; the 5xx count and the time the platform took to catch up are printed.
"""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import psycopg2
import redis
from sqlalchemy.engine import make_url

from bench._measure import cpu_seconds
from bench._wrk import WrkRequest, load
from bench.explainer import start_mlflow
from loopback.databases import throwaway_url
from loopback.processes import REPO, ChildProcess, RedisServer, Service, Worker, free_port
from services.common.db import drop_database, make_engine
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.contracts.explanations import Status
from services.data.bodies import history_of, rows_of, table_files
from services.data.loader import load_directory
from services.data.synth.build import generate
from services.explainer.cache import RecordStore
from services.feature_store.build import build
from services.gateway.key_store import create_key

CLIENTS = int(os.environ.get("BENCH_PLATFORM_CLIENTS", "20000"))  # training clients (+16 % test clients)
NEW_APPLICANTS = int(os.environ.get("BENCH_PLATFORM_NEW", "6000"))
NEW_ID_OFFSET = 50_000_000  # new applicants' SK_ID_CURR, far from the known ids
NEW_SHARE = 0.2
SECONDS = float(os.environ.get("BENCH_PLATFORM_SECONDS", "60"))
PROBE_SECONDS = 8.0
PROBE_CONNECTIONS = (2, 4, 8)
P99_TARGET_MS = 50.0
WORKERS = int(os.environ.get("BENCH_PLATFORM_WORKERS", "1"))
CATCH_UP_S = 180.0
SAMPLES_PER_S = 2.0  # sampler requests of each kind per second
TRAIN_TRIALS = 1


@dataclass
class Stack:
    database_url: str
    redis: RedisServer
    features: Service
    scoring: Service
    monitoring: Service
    gateway: Service
    workers: list[Worker]
    scheduler: "Scheduler | None"
    key: str

    def processes(self) -> dict[str, ChildProcess]:
        parts: dict[str, ChildProcess] = {
            "gateway": self.gateway, "features": self.features, "scoring": self.scoring,
            "monitoring": self.monitoring, "redis": self.redis,
        }  # fmt: skip
        if self.scheduler is not None:
            parts["scheduler"] = self.scheduler
        parts.update({f"explainer_{i}": w for i, w in enumerate(self.workers)})
        return parts


class Scheduler(ChildProcess):
    """The monitoring scheduler as the Procfile starts it (Celery worker with beat, drift jobs)."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env, self.work = {**os.environ, **env}, work
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "services.monitoring.celery_app", "worker", "--beat",
                   "-Q", "monitoring", "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip",
                   "--without-mingle", "-s", str(self.work / "beat-schedule")]  # fmt: skip
        with (self.work / "scheduler.log").open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )


# --- data and model -------------------------------------------------------------------------------------


def _known_database(work: Path) -> tuple[str, list[int]]:
    url = throwaway_url("credit_bench")
    migrate(url)
    generate(CLIENTS, 42, work / "known")
    load_directory(url, work / "known")
    build(url)
    with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT sk_id_curr FROM feature_values ORDER BY sk_id_curr")
        return url, [int(row[0]) for row in cur.fetchall()]


def _new_applications(work: Path) -> list[str]:
    """Bodies of new applicants with their history, ids moved out of the known range."""
    generate(NEW_APPLICANTS, 7, work / "new")
    files = table_files(work / "new")
    apps = pl.read_csv(files["application_train"], infer_schema_length=None).drop("TARGET")
    ids = [int(i) for i in apps["SK_ID_CURR"]]
    history = history_of(files, ids)
    bodies = []
    for application in rows_of(apps):
        rows = history[int(application["SK_ID_CURR"])]
        moved = {t: [_moved(r) for r in table_rows] for t, table_rows in rows.items()}
        bodies.append(json.dumps({"application": _moved(application), "history": moved}))
    return bodies


def _moved(row: dict[str, object]) -> dict[str, object]:
    if "SK_ID_CURR" not in row:
        return row
    return {**row, "SK_ID_CURR": int(row["SK_ID_CURR"]) + NEW_ID_OFFSET}  # type: ignore[call-overload]


def _champion(database_url: str, tracking_uri: str) -> str:
    """`credit train` as the demo runs it; its version becomes the champion."""
    env = {**os.environ, "DATABASE_URL": database_url, "MLFLOW_TRACKING_URI": tracking_uri}
    trained = subprocess.run(
        [str(Path(sys.executable).with_name("credit")), "train", "--trials", str(TRAIN_TRIALS),
         "--author", "bench"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    if trained.returncode != 0:
        raise RuntimeError(f"credit train failed:\n{trained.stderr[-3000:]}")
    if "registered credit-scoring version " not in trained.stdout:
        raise RuntimeError(f"credit train registered no version:\n{trained.stdout[-3000:]}")
    version = trained.stdout.split("registered credit-scoring version ")[1].split()[0].strip(".,")
    from mlflow import MlflowClient

    from services.model.registry import CHAMPION, MODEL_NAME

    MlflowClient(tracking_uri).set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    return version


# --- the stack ------------------------------------------------------------------------------------------


@contextmanager
def running_stack(
    database_url: str, tracking_uri: str, work: Path, workers: int = WORKERS, scheduler: bool = True
) -> Iterator[Stack]:
    """The platform as `make demo` runs it; without explainer workers or the scheduler, explanations only
    queue and no drift job runs (the gateway bench: the request path alone on the cores)."""
    redis_server = RedisServer(work, "everysec")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "MLFLOW_TRACKING_URI": tracking_uri}
    features = Service("features", "services.features.app:app", env, work)
    scoring = Service("scoring", "services.scoring.app:app", {**env, "FEATURES_URL": features.url}, work)
    monitoring = Service("monitoring", "services.monitoring.app:app", env, work)
    gateway_env = {**env, "FEATURES_URL": features.url, "SCORING_URL": scoring.url,
                   "MONITORING_URL": monitoring.url, "GATEWAY_RATE_LIMIT": "1000000/second"}  # fmt: skip
    gateway = Service("gateway", "services.gateway.app:app", gateway_env, work)
    workers = [
        Worker({**env, "EXPLAINER_METRICS_PORT": str(free_port())}, work / f"worker{i}.log", f"bench{i}")
        for i in range(workers)
    ]
    beat = Scheduler(env, work) if scheduler else None
    engine = make_engine(database_url)
    key = create_key(engine, f"bench-{uuid.uuid4().hex[:6]}", ["score", "explain"], None)[1]
    engine.dispose()
    stack = Stack(database_url, redis_server, features, scoring, monitoring, gateway, workers, beat, key)
    try:
        redis_server.start()
        for part in (features, scoring, monitoring, gateway, *workers, *([beat] if beat else [])):
            part.start()
        yield stack
    finally:
        for part in reversed(list(stack.processes().values())):
            part.stop()


# --- load -----------------------------------------------------------------------------------------------


def _score(body: str) -> WrkRequest:
    return WrkRequest("POST", "/v1/scores", body)


@dataclass
class Requests:
    """Distinct request bodies, handed out in disjoint slices so no phase repeats another's."""

    known: list[int]
    new: list[str]
    taken_known: int = 0
    taken_new: int = 0

    def mix(self, count: int) -> list[WrkRequest]:
        new_count = round(count * NEW_SHARE)
        requests = self.known_requests(count - new_count) + self.new_requests(new_count)
        random.Random(len(requests)).shuffle(requests)
        return requests

    def known_requests(self, count: int) -> list[WrkRequest]:
        return [_score(json.dumps({"client_id": i})) for i in self.take_known(count)]

    def new_requests(self, count: int) -> list[WrkRequest]:
        return [_score(body) for body in self.take_new(count)]

    def take_known(self, count: int) -> list[int]:
        if self.taken_known + count > len(self.known):
            raise RuntimeError(f"only {len(self.known)} known clients: raise BENCH_PLATFORM_CLIENTS")
        self.taken_known += count
        return self.known[self.taken_known - count : self.taken_known]

    def take_new(self, count: int) -> list[str]:
        if self.taken_new + count > len(self.new):
            raise RuntimeError(f"only {len(self.new)} new applicants: raise BENCH_PLATFORM_NEW")
        self.taken_new += count
        return self.new[self.taken_new - count : self.taken_new]


@dataclass
class Sampler:
    """A few requests of each kind inside the load: their latency per kind and their explanations'
    turnaround (decision answered -> explanation done, polled as the gateway's Retry-After says, so to
    within that many seconds). Polling every 20 ms instead put thousands of polls a second on the gateway
    and starved the worker it was timing."""

    url: str
    key: str
    known: list[int]
    new: list[str]
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {"known": [], "new": []})
    turnaround_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self, seconds: float) -> None:
        asyncio.run(self._run(seconds))

    async def _run(self, seconds: float) -> None:
        async with httpx.AsyncClient(
            base_url=self.url, headers={"X-API-Key": self.key}, timeout=60
        ) as client:
            tasks = []
            started = time.monotonic()
            for i in range(int(seconds * SAMPLES_PER_S)):
                tasks.append(
                    asyncio.create_task(self._one(client, "known", json.dumps({"client_id": self.known[i]})))
                )
                tasks.append(asyncio.create_task(self._one(client, "new", self.new[i])))
                await asyncio.sleep(max(0.0, started + (i + 1) / SAMPLES_PER_S - time.monotonic()))
            await asyncio.gather(*tasks)

    async def _one(self, client: httpx.AsyncClient, kind: str, body: str) -> None:
        started = time.perf_counter()
        answer = await client.post("/v1/scores", content=body, headers={"Content-Type": "application/json"})
        self.latency_ms[kind].append(1000 * (time.perf_counter() - started))
        if answer.status_code != 200:
            self.failures.append(f"{kind} score {answer.status_code}")
            return
        url = (answer.json().get("explanation") or {}).get("url")
        if url is None:  # a decision whose explanation could not be queued (Redis down): counted, not polled
            self.failures.append(f"{kind} decision without an explanation url")
            return
        while True:
            polled = await client.get(url)
            status = polled.json().get("status") if polled.status_code in (200, 202) else None
            if status == "done":
                self.turnaround_ms.append(1000 * (time.perf_counter() - started))
                return
            if status == "failed" or polled.status_code not in (200, 202):
                self.failures.append(f"{kind} explanation {polled.status_code} {status}")
                return
            await asyncio.sleep(float(polled.headers.get("Retry-After", "1")))  # as a client is told to


def _percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None}
    return {"n": len(values), "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p99_ms": round(float(np.percentile(values, 99)), 2)}  # fmt: skip


def _probe(stack: Stack, requests: Requests) -> tuple[int, list[dict[str, object]]]:
    """The highest connection count whose p99 stays within target (at least the lowest tried)."""
    headers = {"X-API-Key": stack.key, "Content-Type": "application/json"}
    chosen, probes = PROBE_CONNECTIONS[0], []
    for connections in PROBE_CONNECTIONS:
        figures = load(
            stack.gateway.url, requests.mix(int(PROBE_SECONDS * 400)), headers, PROBE_SECONDS, connections
        )
        probes.append({"connections": connections, **figures})
        if figures["p99_ms"] > P99_TARGET_MS or figures["errors"]:
            break
        chosen = connections
    return chosen, probes


# --- faults ---------------------------------------------------------------------------------------------


def _faults(stack: Stack, seconds: float, log: list[dict[str, object]]) -> None:
    """Worker SIGKILL + restart, Redis restart, monitoring stopped 10 s, spread over the run."""
    steps: list[tuple[float, str, Callable[[], None]]] = [
        (0.15, "explainer worker SIGKILL, restarted", lambda: _restart(stack.workers[0], kill=True)),
        (0.40, "redis restarted", lambda: _restart(stack.redis, kill=False)),
        (
            0.65,
            "monitoring stopped 10 s, started",
            lambda: _restart(stack.monitoring, kill=False, pause_s=10),
        ),
    ]
    started = time.monotonic()
    for at, what, act in steps:
        time.sleep(max(0.0, started + at * seconds - time.monotonic()))
        begun = time.monotonic()
        act()
        log.append(
            {"at_s": round(begun - started, 1), "fault": what, "took_s": round(time.monotonic() - begun, 1)}
        )


def _restart(part: ChildProcess, kill: bool, pause_s: float = 0.0) -> None:
    if kill:
        assert part.process is not None
        part.process.send_signal(signal.SIGKILL)
        part.process.wait(timeout=30)
        part.process = None
    else:
        part.stop()
    time.sleep(pause_s)
    part.start()  # type: ignore[attr-defined]


# --- integrity ------------------------------------------------------------------------------------------


def answered_count(stack: Stack) -> int:
    text = httpx.get(f"{stack.gateway.url}/metrics", timeout=10).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("gateway_decisions_total{")))  # fmt: skip


def _logged(stack: Stack) -> list[tuple[str, str | None]]:
    with closing(psycopg2.connect(stack.database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT request_id, explanation_id FROM decision_log")
        return cur.fetchall()


def queued_count(stack: Stack) -> int:
    client = redis.Redis.from_url(stack.redis.url)
    try:
        return int(client.llen("explanations"))
    except redis.ConnectionError:
        return -1
    finally:
        client.close()


def integrity(stack: Stack) -> dict[str, object]:
    """Every decision answered is logged and explained; `lost` counts those that are not."""
    answered, logged = answered_count(stack), _logged(stack)
    ids = [e for _, e in logged if e is not None]
    distinct = sorted(set(ids))
    status = dict(zip(distinct, _statuses(stack, distinct), strict=True))
    explained = sum(1 for e in ids if status[e] == Status.DONE.value)
    by_status = {name: list(status.values()).count(name) for name in sorted(set(status.values()))}
    return {
        "answered": answered,
        "logged": len(logged),
        "explained": explained,
        "explanations_by_status": by_status,
        "without_explanation_id": len(logged) - len(ids),
        "lost": max(0, answered - len(logged)) + (len(logged) - explained),
    }


def _statuses(stack: Stack, explanation_ids: list[str]) -> list[str]:
    client = redis.Redis.from_url(stack.redis.url)
    try:
        store = RecordStore(client)
        found: list[str] = []
        for start in range(0, len(explanation_ids), 1000):
            found += ["missing" if r is None else r.status.value
                      for r in store.get_many(explanation_ids[start : start + 1000])]  # fmt: skip
        return found
    finally:
        client.close()


def _caught_up(stack: Stack) -> tuple[dict[str, object], float]:
    """Integrity once nothing is left to do (or CATCH_UP_S passed), and how long it took."""
    started = time.monotonic()
    while True:
        try:
            counts = integrity(stack)
        except (httpx.HTTPError, redis.ConnectionError, psycopg2.Error):
            counts = None  # a part is still restarting
        finished = counts is not None and counts["lost"] == 0
        if finished or time.monotonic() - started > CATCH_UP_S:
            if counts is None:
                counts = integrity(stack)
            return counts, round(time.monotonic() - started, 1)
        time.sleep(2)


# --- CPU ------------------------------------------------------------------------------------------------


def _cpu(stack: Stack) -> dict[str, tuple[int, float]]:
    """(pid, CPU seconds so far) of each process, and of the Postgres backends serving the bench's database
    (pid 0: a changing set of backends)."""
    found = {
        name: (p.process.pid, cpu_seconds(p.process.pid))
        for name, p in stack.processes().items()
        if p.process is not None
    }
    database = make_url(stack.database_url).database
    backends = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f" {database} " in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    backends += cpu_seconds(int(entry.name))
            except OSError:
                continue
    found["postgres"] = (0, backends)
    return found


def _cpu_ms_per_decision(
    before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]], decisions: int
) -> tuple[dict[str, float], list[str]]:
    """CPU ms per decision of each process over the run; a process restarted during the run (a new pid)
    counts from its new start only, and is named: the killed one's last seconds are not measurable."""
    restarted = [name for name, (pid, _) in after.items() if name in before and before[name][0] != pid]
    ms = {
        name: round(1000 * (seconds - (0.0 if name in restarted else before.get(name, (0, 0.0))[1]))
                    / max(decisions, 1), 3)
        for name, (_, seconds) in after.items()
    }  # fmt: skip
    return ms, restarted


# --- the run --------------------------------------------------------------------------------------------


def _main_run(stack: Stack, requests: Requests, sampler: Sampler, connections: int, faults: bool) -> dict:
    headers = {"X-API-Key": stack.key, "Content-Type": "application/json"}
    left_known, left_new = len(requests.known) - requests.taken_known, len(requests.new) - requests.taken_new
    mix = requests.mix(int(min(left_known / (1 - NEW_SHARE), left_new / NEW_SHARE)) - 2)
    answered_before, cpu_before = answered_count(stack), _cpu(stack)
    injected: list[dict[str, object]] = []
    threads = [threading.Thread(target=sampler.run, args=(SECONDS,))]
    if faults:
        threads.append(threading.Thread(target=_faults, args=(stack, SECONDS, injected)))
    for thread in threads:
        thread.start()
    figures = load(stack.gateway.url, mix, headers, SECONDS, connections)
    backlog = queued_count(stack)
    for thread in threads:
        thread.join()
    decisions = answered_count(stack) - answered_before
    cpu_after = _cpu(stack)
    cpu_ms, restarted = _cpu_ms_per_decision(cpu_before, cpu_after, decisions)
    return {
        "connections": connections,
        "wrk": figures,
        "requests_reused": figures["requests"] > len(mix),
        "decisions": decisions,
        "explanation_backlog_at_end": backlog,
        "cpu_ms_per_decision": cpu_ms,
        "cpu_restarted": restarted,
        "faults": injected,
    }


@dataclass(frozen=True)
class Prepared:
    database_url: str
    tracking_uri: str
    known: list[int]  # every stored client id, shuffled
    new: list[str]  # new applicants' bodies
    version: str  # the champion


@contextmanager
def prepared(work: Path) -> Iterator[Prepared]:
    """An MLflow server, the known clients' database with built features, the new applicants' bodies
    and a champion trained by `credit train`; all dropped after."""
    base = make_url(CommonSettings().database_url)
    mlflow_db = base.set(database=f"mlflow_bench_{uuid.uuid4().hex[:12]}").render_as_string(
        hide_password=False
    )
    mlflow_process, tracking_uri = start_mlflow(work, mlflow_db)
    database_url = None
    try:
        database_url, known = _known_database(work)
        new = _new_applications(work)
        version = _champion(database_url, tracking_uri)
        random.Random(5).shuffle(known)
        yield Prepared(database_url, tracking_uri, known, new, version)
    finally:
        mlflow_process.terminate()
        mlflow_process.wait(timeout=60)
        drop_database(mlflow_db)
        if database_url is not None:
            drop_database(database_url)


def measure(faults: bool) -> tuple[dict, dict]:
    sampled = int(SECONDS * SAMPLES_PER_S)
    with tempfile.TemporaryDirectory() as tmp, prepared(Path(tmp)) as data:
        known, new, version = data.known, data.new, data.version
        with running_stack(data.database_url, data.tracking_uri, Path(tmp)) as stack:
            sampler = Sampler(stack.gateway.url, stack.key, known[:sampled], new[:sampled])
            requests = Requests(known[sampled:], new[sampled:])
            connections, probes = _probe(stack, requests)
            main = _main_run(stack, requests, sampler, connections, faults)
            counts, catch_up_s = _caught_up(stack)
    wrk = main["wrk"]
    figures = {
        "decisions_per_s": round(main["decisions"] / SECONDS, 1),
        "fully_explained_and_logged_per_s": round(min(main["decisions"], counts["explained"]) / SECONDS, 1)
        if counts["lost"] == 0
        else 0.0,
        "p50_ms": wrk["p50_ms"],
        "p99_ms": wrk["p99_ms"],
        "by_kind": {kind: _percentiles(v) for kind, v in sampler.latency_ms.items()},
        "explanation_turnaround": _percentiles(sampler.turnaround_ms),
        "sampler_failures": sampler.failures,
        "errors": wrk["errors"],
        "non_2xx": wrk["non_2xx"],
        "integrity": counts,
        "catch_up_s": catch_up_s,
        "main": main,
        "probes": probes,
        "model_version": version,
        "load_average": list(os.getloadavg()),
    }
    params = {
        "clients": len(known), "new_applicants": len(new), "new_share": NEW_SHARE, "seconds": SECONDS,
        "explainer_workers": WORKERS, "redis_appendfsync": "everysec", "p99_target_ms": P99_TARGET_MS,
        "load_generator": "wrk -t1 (mixed list, each request once) + an asyncio sampler", "faults": faults,
    }  # fmt: skip
    return params, figures


def run() -> tuple[dict, dict]:
    return measure(faults=False)
