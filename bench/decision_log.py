"""Decision-log write throughput: decisions/s stored from the Redis `decisions` stream into Postgres by
monitoring's consumer, in its batches (`consumer_batch`), with 640-feature vectors as the gateway sends.

Before/after in one run: each round is a fresh process whose PYTHONPATH is either this tree or a
baseline tree (`BENCH_BASELINE_TREE`, e.g. `git worktree add --detach /tmp/base main`), alternating, so
both code paths see the same machine load; each round migrates its own database to its tree's head.
`make bench B=decision_log` (without a baseline tree it measures this tree only).
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

DECISIONS = 6_000
ROUNDS = 3  # per tree
TREE = Path(__file__).resolve().parents[1]


def run() -> tuple[dict, dict]:
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    trees = {"after": TREE} | ({"before": Path(baseline)} if baseline else {})
    rates: dict[str, list[float]] = {name: [] for name in trees}
    loads = [_loadavg()]
    for _ in range(ROUNDS):
        for name, tree in trees.items():
            rates[name].append(_round_in(tree))
            loads.append(_loadavg())
    figures: dict[str, object] = {f"{name}_decisions_per_s": rates[name] for name in trees}
    figures |= {f"{name}_median_decisions_per_s": round(statistics.median(r)) for name, r in rates.items()}
    if baseline:
        ratio = statistics.median(rates["after"]) / statistics.median(rates["before"])
        figures["after_over_before"] = round(ratio, 3)
    params = {"decisions_per_round": DECISIONS, "rounds_per_tree": ROUNDS, "features": 640,
              "baseline_tree": baseline, "loadavg": loads}  # fmt: skip
    return params, figures


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _round_in(tree: Path) -> float:
    """One round in a child process importing `services` from `tree`; its decisions/s."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--round"],
        env=env, check=True, capture_output=True, text=True, cwd=tree,
    ).stdout  # fmt: skip
    return float(json.loads(out.strip().splitlines()[-1])["decisions_per_s"])


def _one_round() -> dict[str, float]:
    """Publish DECISIONS events, then time one consumer draining them into a freshly migrated database."""
    import psycopg2
    import redis

    from loopback.databases import throwaway_url
    from services.common.db import drop_database
    from services.common.migrations import migrate
    from services.feature_definitions.catalog import NAMES
    from services.monitoring.consumer import StreamConsumer
    from services.monitoring.settings import MonitoringSettings

    database_url = throwaway_url("credit_bench")
    stream = f"bench-{uuid.uuid4().hex[:10]}:decisions"
    settings = MonitoringSettings(
        database_url=database_url, decisions_stream=stream, shadow_stream=f"{stream}:shadow",
        recourse_stream=f"{stream}:recourse", run_consumer=False,
    )  # fmt: skip
    client = redis.Redis.from_url(settings.redis_url)
    try:
        migrate(database_url)
        consumer = StreamConsumer(settings, name="bench")
        consumer.drain()  # creates the group
        _publish(client, stream, NAMES)
        started = time.perf_counter()
        consumer.drain()
        elapsed = time.perf_counter() - started
        consumer.close()
        with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM decision_log")
            stored = int(cur.fetchone()[0])
        if stored != DECISIONS:
            raise RuntimeError(f"{stored} decisions stored, {DECISIONS} published")
        return {"decisions_per_s": DECISIONS / elapsed, "seconds": elapsed}
    finally:
        client.delete(stream, settings.shadow_stream, settings.recourse_stream)
        client.close()
        drop_database(database_url)


def _publish(client: object, stream: str, names: tuple[str, ...]) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    start = datetime.now(UTC) - timedelta(hours=2)
    pipe = client.pipeline()  # type: ignore[attr-defined]
    for i in range(DECISIONS):
        values = rng.normal(size=len(names))
        features = {n: (None if v > 1.8 else float(v)) for n, v in zip(names, values, strict=True)}
        pd = float(rng.beta(2, 12))
        event = {
            "request_id": uuid.uuid4().hex, "time": (start + timedelta(milliseconds=i)).isoformat(),
            "client_id": 100_000 + i, "model_version": "3", "features": features, "pd": pd,
            "decision": "refused" if pd >= 0.3 else "approved", "threshold": 0.3,
            "review_band": {"low": 0.25, "high": 0.35, "share": 0.1}, "warnings": [],
            "explanation_id": uuid.uuid4().hex, "latency_ms": 12.5, "source": "client_id",
        }  # fmt: skip
        pipe.xadd(stream, {"data": json.dumps(event)})
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


if __name__ == "__main__" and sys.argv[1:] == ["--round"]:
    print(json.dumps(_one_round()), flush=True)
