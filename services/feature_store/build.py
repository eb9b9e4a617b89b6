"""Batch build: features of every application in Postgres, materialised under the current feature set."""

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from services.common.migrations import migrate
from services.feature_definitions.catalog import (
    FEATURE_SET_HASH,
    HISTORY_SOURCES,
    NAMES,
    compute_features_from,
)
from services.feature_definitions.raw import read_table
from services.feature_store.store import matrix_chunks, write_materialised

# Raw tables in the order compute_features_from asks for them.
READ_ORDER: tuple[str, ...] = ("application", *(table for tables, _ in HISTORY_SOURCES for table in tables))


@dataclass(frozen=True)
class BuildReport:
    feature_set_hash: str
    clients: int
    features: int
    read_and_compute_seconds: float
    write_seconds: float


def build(database_url: str) -> BuildReport:
    """Read the raw tables, compute every feature with Polars, replace the stored vectors of this set."""
    migrate(database_url)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        frame = compute_features_from(_prefetching_reader(database_url, pool))
    computed = time.perf_counter()
    clients = write_materialised(database_url, matrix_chunks(frame))
    return BuildReport(
        feature_set_hash=FEATURE_SET_HASH,
        clients=clients,
        features=len(NAMES),
        read_and_compute_seconds=round(computed - started, 2),
        write_seconds=round(time.perf_counter() - computed, 2),
    )


def _prefetching_reader(database_url: str, pool: ThreadPoolExecutor) -> Callable[[str], pl.DataFrame]:
    """A table provider reading two tables ahead of the computation, so Postgres and Polars overlap
    while at most a few raw tables are held in memory."""
    waiting = list(READ_ORDER)
    reads: dict[str, Future[pl.DataFrame]] = {}

    def read_next() -> None:
        if waiting:
            name = waiting.pop(0)
            reads[name] = pool.submit(read_table, database_url, name)

    read_next()
    read_next()

    def table(name: str) -> pl.DataFrame:
        frame = reads.pop(name).result()
        read_next()
        return frame

    return table
