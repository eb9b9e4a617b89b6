"""A real Spark cluster of separate processes for the `--engine spark` tests, and the data they share.

`local-cluster[1,2,1024]` runs a master, a worker and an executor JVM with two task slots (and its own
Python workers) beside the driver: tasks cross process boundaries and the shuffle goes over the network, as
on a cluster. One executor, not two: each JVM costs start-up and memory the 2-core test machine shares
with the other xdist worker (the group took 73 s with two executors, 61 s with one, quiet machine).
One cluster per session (JVM start-up is the slow part); every test of tests/spark runs on the same xdist
worker (its group in tests/support/scheduling.py), so there is never a second cluster.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from loopback.databases import throwaway_url
from loopback.processes import wait_for
from services.common.db import drop_database, ensure_database
from services.common.migrations import migrate
from services.common.spark import SparkSettings, spark_session
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_store.build import build

EXECUTORS = 1
SLOTS = 2  # task slots of the executor: partitions run side by side
PARTITIONS = 3  # client partitions: more than the slots, so a slot runs several
CLIENTS = 300  # training clients; the generator adds ~16% test clients and every history table
SEED = 23


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The project's own session (services/common/spark.py) on the cluster; the CLI commands under test
    find it active and run on it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # driver, workers and executors talk on loopback only
        # No web UI in tests; a bad value fails its task at once, not after three retries.
        args = "--conf spark.ui.enabled=false --conf spark.task.maxFailures=1 pyspark-shell"
        patch.setenv("PYSPARK_SUBMIT_ARGS", args)
        patch.setenv("SPARK_PARTITIONS", str(PARTITIONS))  # what the commands under test read
        settings = SparkSettings(spark_master=f"local-cluster[{EXECUTORS},{SLOTS},1024]")
        with spark_session("credit-tests", settings) as session:
            executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus  # driver + executors
            wait_for(lambda: executors().size() == EXECUTORS + 1, f"{EXECUTORS} executors registered", 180)
            yield session


@pytest.fixture(scope="session")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same synthetic clients as Kaggle CSV files and as Parquet files."""
    root = tmp_path_factory.mktemp("spark_tables")
    for fmt in ("csv", "parquet"):
        generate(CLIENTS, SEED, root / fmt, fmt=fmt)  # oracle.* beside them: no table, so ignored
    return {"csv": root / "csv", "parquet": root / "parquet"}


@pytest.fixture(scope="session")
def single_machine(tables: dict[str, Path]) -> Iterator[str]:
    """A database with the CSV tables loaded and the single-machine build done: the reference."""
    url = throwaway_url()
    ensure_database(url)
    migrate(url)
    load_directory(url, tables["csv"])
    build(url)
    yield url
    drop_database(url)
