"""Database helpers: create the database on first use, engines, raw connections for COPY."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


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


def _sqlalchemy_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg2://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )


def _libpq_dsn(database_url: str) -> str:
    """libpq understands postgresql:// URLs but not SQLAlchemy's driver suffix."""
    return database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
