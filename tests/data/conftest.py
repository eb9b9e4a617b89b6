"""Fixtures for the loader tests: run `credit data load` in-process, query the test database."""

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from services.common.db import make_engine
from services.data.cli import data_app


@pytest.fixture
def credit_load(database_url: str) -> Callable[..., Result]:
    """`credit data load ARGS...` against the test's database (the `credit data` group itself: the top-level
    `credit` app would import every service on start)."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(data_app, ["load", *args], env={"DATABASE_URL": database_url})

    return run


@pytest.fixture
def query(database_url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(statement: str) -> list[tuple[Any, ...]]:
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(statement))]
        finally:
            engine.dispose()

    return run
