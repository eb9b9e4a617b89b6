"""Database helpers: create the database on first use, engines, raw connections for COPY, and a small
connection pool for read-only hot paths."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

T = TypeVar("T")


def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if it does not exist (a fresh machine has none)."""
    name = make_url(database_url).database
    with _maintenance_cursor(database_url) as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str) -> None:
    """Drop the database named in the URL, closing other sessions first (tests' throwaway databases)."""
    name = make_url(database_url).database
    with _maintenance_cursor(database_url) as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def _maintenance_cursor(database_url: str) -> Iterator[psycopg2.extensions.cursor]:
    """An autocommit cursor on the server's `postgres` database: CREATE/DROP DATABASE cannot run in one."""
    maintenance = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    conn = psycopg2.connect(_libpq_dsn(maintenance))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def make_engine(database_url: str) -> Engine:
    """A pooled SQLAlchemy engine (psycopg2 driver) for queries and migrations."""
    return create_engine(_sqlalchemy_url(database_url), pool_pre_ping=True, future=True)


@contextmanager
def raw_connection(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A plain psycopg2 connection for COPY; committed on success, rolled back on error."""
    conn = psycopg2.connect(_libpq_dsn(database_url))
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


@contextmanager
def advisory_lock(conn: psycopg2.extensions.connection, key: str, wait: bool = True) -> Iterator[bool]:
    """A session advisory lock on `key` for the block, released after it (or with the connection, if the
    process dies). `wait=False` does not queue: the block is given False while another session holds it.
    Each lock statement is committed at once, so no transaction stays open around the block."""
    query = "SELECT pg_advisory_lock(hashtext(%s))" if wait else "SELECT pg_try_advisory_lock(hashtext(%s))"
    acquired = _lock_statement(conn, query, key)
    held = True if wait else bool(acquired)
    try:
        yield held
    finally:
        if held:
            _lock_statement(conn, "SELECT pg_advisory_unlock(hashtext(%s))", key)


def _lock_statement(conn: psycopg2.extensions.connection, query: str, key: str) -> object:
    with conn.cursor() as cur:
        cur.execute(query, (key,))
        value = cur.fetchone()[0]
    if not conn.autocommit:
        conn.commit()
    return value


class ReadPool:
    """Autocommit psycopg2 connections for reads from worker threads.

    SQLAlchemy's pool with pre-ping costs four round trips per checkout (ping, BEGIN, the query, rollback
    on return); here a read is one. A connection found dead (Postgres restarted) is replaced and the work
    tried once more on a fresh one, so no ping is needed. At most `max_active` reads run at once (more
    callers wait for a slot: Postgres' connection limit is shared by every service) and at most
    `keep_idle` connections stay open between bursts.
    """

    def __init__(self, database_url: str, max_active: int = 16, keep_idle: int = 8) -> None:
        self.dsn, self.keep_idle = _libpq_dsn(database_url), keep_idle
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_active)

    def run(self, work: Callable[[psycopg2.extensions.connection], T]) -> T:
        """`work(connection)` on a pooled connection; once more on a new one if the pooled one had died."""
        with self._slots:
            return self._run_with_retry(work)

    def _run_with_retry(self, work: Callable[[psycopg2.extensions.connection], T]) -> T:
        conn, reused = self._take()
        try:
            return self._run_on(conn, work)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if not reused:
                raise
        return self._run_on(self._connect(), work)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _run_on(self, conn: psycopg2.extensions.connection, work: Callable[..., T]) -> T:
        try:
            return work(conn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            conn.close()  # connection-level failure: never reused
            raise
        finally:
            self._give(conn)  # kept unless closed above

    def _take(self) -> tuple[psycopg2.extensions.connection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _give(self, conn: psycopg2.extensions.connection) -> None:
        """Back to the idle list if still usable (autocommit: no transaction to end)."""
        if not conn.closed:
            with self._lock:
                if len(self._idle) < self.keep_idle:
                    self._idle.append(conn)
                    return
        conn.close()

    def _connect(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        return conn


def _sqlalchemy_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg2://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )


def _libpq_dsn(database_url: str) -> str:
    """libpq understands postgresql:// URLs but not SQLAlchemy's driver suffix."""
    return database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
