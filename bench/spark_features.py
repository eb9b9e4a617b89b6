"""The Spark feature build beside the single-machine Polars build, on the same synthetic clients.

`make bench B=spark_features`: at 20,000 and 100,000 training clients (BENCH_SPARK_CLIENTS="20000,100000";
the generator adds ~16% test clients and every history table), the single-machine `credit features build`
(Postgres -> Polars -> Postgres) and `credit features build --engine spark` (Parquet -> Parquet) on
`local-cluster[N,1,MB]` with one and two executor processes of one core each. Each figure is the whole
command's wall time as a user sees it (the Spark one includes starting the cluster's JVMs); the Spark
child's own report gives the build alone. Scaling efficiency = t(1 executor) / (2 x t(2 executors)).
Each run also records the machine's busy core-seconds (/proc/stat): a Spark "core" is a task slot, not a
CPU limit, so one executor's JVM threads and Python worker can already keep both of this machine's cores
busy; clients per core-second is the basis a cluster projection needs.
Before each run the bench waits (up to 3 minutes) for the 1-minute load average to fall under 1.0
(BENCH_SETTLE_LOAD), then records it: the machine is shared, and a loaded machine slows every figure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from bench.features_build import loaded_database, synthetic_files
from services.data.sources import find_sources

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SPARK_CLIENTS", "20000,100000").split(","))
EXECUTORS = (1, 2)
EXECUTOR_MB = int(os.environ.get("BENCH_SPARK_EXECUTOR_MB", "3072"))
PARTITIONS = 8  # client partitions: four per executor core at two executors
SEED = 11
SETTLE_LOAD = float(os.environ.get("BENCH_SETTLE_LOAD", "1.0"))
SETTLE_S = 180.0
CREDIT = str(Path(sys.executable).with_name("credit"))


def run() -> tuple[dict, dict]:
    figures = {str(clients): _one_size(clients) for clients in SIZES}
    params = {"training_clients": list(SIZES), "executors": list(EXECUTORS), "executor_mb": EXECUTOR_MB}
    return params | {"partitions": PARTITIONS, "seed": SEED, "cores": os.cpu_count()}, figures


def _one_size(clients: int) -> dict:
    with synthetic_files(clients, SEED, "parquet") as folder, loaded_database(folder) as url:
        applications = _rows(folder, ["application_train", "application_test"])
        local = _timed([CREDIT, "features", "build"], {"DATABASE_URL": url})
        local_build = local["report"]["read_and_compute_seconds"] + local["report"]["write_seconds"]
        figures = {
            "applications": applications,
            "raw_rows": _rows(folder),
            "local": _rates(local, local_build),
        }
        for executors in EXECUTORS:
            with tempfile.TemporaryDirectory(prefix="bench_vectors_") as output:
                spark = _timed(
                    [
                        CREDIT,
                        "features",
                        "build",
                        "--engine",
                        "spark",
                        "--input",
                        str(folder),
                        "--output",
                        output,
                    ],
                    _spark_env(executors),
                )
            assert spark["report"]["clients"] == applications, spark["report"]
            figures[f"spark_{executors}_executor"] = _rates(spark, spark["report"]["build_seconds"])
    one, two = figures["spark_1_executor"], figures["spark_2_executor"]
    figures["scaling_efficiency"] = round(one["seconds"] / (2 * two["seconds"]), 2)
    figures["scaling_efficiency_build_only"] = round(one["build_seconds"] / (2 * two["build_seconds"]), 2)
    for run in (figures["local"], one, two):
        run["clients_per_second"] = round(applications / run["seconds"])
        run["raw_rows_per_second"] = round(figures["raw_rows"] / run["seconds"])
        run["clients_per_core_second"] = round(applications / max(run["machine_cpu_seconds"], 1e-9))
    print(json.dumps({"training_clients": clients, **figures}), flush=True)  # a size's figures as they come
    return figures


def _rows(folder: Path, tables: list[str] | None = None) -> int:
    """Rows of the given tables' files (all tables when None), from the Parquet footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in find_sources(folder, tables).files.values())


def _spark_env(executors: int) -> dict[str, str]:
    return {
        "SPARK_MASTER": f"local-cluster[{executors},1,{EXECUTOR_MB}]",
        "SPARK_PARTITIONS": str(PARTITIONS),
        "SPARK_LOCAL_IP": "127.0.0.1",  # the cluster talks on loopback only
        "PYSPARK_SUBMIT_ARGS": "--conf spark.ui.enabled=false --driver-memory 2g pyspark-shell",
    }


def _settle() -> float:
    """Wait (up to SETTLE_S) for the 1-minute load to drop under SETTLE_LOAD, so a run does not start in the
    wake of the previous one (its JVMs and Python workers); the load it starts under is recorded anyway."""
    deadline = time.monotonic() + SETTLE_S
    while os.getloadavg()[0] >= SETTLE_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat): Spark's processes are not all
    this process's children (the executors are the cluster workers'), so their CPU is counted machine-wide;
    on a quiet machine the difference over a run is the run's cost in core-seconds."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _timed(command: list[str], env: dict[str, str]) -> dict:
    load = _settle()
    cpu = _busy_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(command, env=os.environ | env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    cpu = _busy_cpu_seconds() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "report": report, "load_average_before": load, "machine_cpu_seconds": cpu}


def _rates(run: dict, build_seconds: float) -> dict:
    """Wall seconds of the command, seconds of the build inside it, the machine's busy core-seconds over
    the command, the load it started under."""
    return {
        "seconds": round(run["seconds"], 1),
        "build_seconds": round(build_seconds, 1),
        "machine_cpu_seconds": round(run["machine_cpu_seconds"], 1),
        "load_average_before": round(run["load_average_before"], 2),
    }
