"""The Spark session of the batch jobs run with `--engine spark` (features build, portfolio scoring).

Any master works: `local[N]` (threads of one JVM), `local-cluster[N,C,MB]` (separate executor JVMs on this
machine: the tests), `spark://host:7077`, `k8s://...`, `yarn`. Further Spark settings come the usual way
(spark-defaults.conf, or `--conf` in PYSPARK_SUBMIT_ARGS).
"""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import Field
from pyspark.errors import PythonException
from pyspark.sql import SparkSession

from services.common.settings import CommonSettings


class SparkSettings(CommonSettings):
    spark_master: str = "local[2]"
    # Client partitions: clients are hashed on SK_ID_CURR into this many groups, and each group's rows of
    # all seven tables are computed together in one Python call. Size them to ~20,000 clients each.
    spark_partitions: int = Field(default=8, ge=1)


@contextmanager
def spark_session(app_name: str, settings: SparkSettings) -> Iterator[SparkSession]:
    """The active session if there is one (a notebook, the tests' cluster), else a new one stopped on exit.

    Each task runs one Python worker with one Polars and one OpenMP thread: Spark's tasks are the
    parallelism, and a worker's own thread pool would only fight its neighbours for the same cores.
    """
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one line per JVM call at INFO
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    # Executors start their Python workers with PYSPARK_PYTHON, read when the context starts: this
    # interpreter unless told otherwise (the same image or virtualenv on every node).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.executorEnv.POLARS_MAX_THREADS", "1")
        .config("spark.executorEnv.OMP_NUM_THREADS", "1")
        .config("spark.sql.shuffle.partitions", str(settings.spark_partitions))
        # A client partition is the unit of work: never merged with others into one task.
        .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # the commands print JSON, not progress bars
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()


def error_summary(error: Exception) -> str:
    """The reason of a failed job in one line: Spark appends the JVM's stack trace to its message, and
    an exception raised in a Python worker arrives as that worker's traceback, whose last line says why."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, PythonException):
        python_lines = [line for line in lines if not line.startswith("at ")]
        return python_lines[-1] if python_lines else type(error).__name__
    return lines[0] if lines else type(error).__name__
