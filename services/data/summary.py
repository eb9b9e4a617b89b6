"""`credit data summary`: what the database holds, in numbers a person can check at a glance."""

from typing import Annotated

import typer
from sqlalchemy import text

from services.common.db import make_engine
from services.common.settings import CommonSettings
from services.data.tables import TABLES


def table_counts(database_url: str) -> dict[str, int]:
    """Row count of every raw table that exists (missing tables are left out)."""
    engine = make_engine(database_url)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        existing = set(
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
        for spec in TABLES:
            name = spec.name.lower()
            if name in existing:
                counts[name] = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
    engine.dispose()
    return counts


def default_rate(database_url: str) -> float | None:
    """Share of labelled applications with TARGET = 1 (None when nothing is labelled)."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rate = conn.execute(text("SELECT avg(target::float) FROM application_train")).scalar_one()
    engine.dispose()
    return rate


def summary_command(
    database_url: Annotated[str | None, typer.Option(help="Defaults to DATABASE_URL.")] = None,
) -> None:
    """Print row counts per table, rows per client and the default rate."""
    url = database_url or CommonSettings().database_url
    counts = table_counts(url)
    if not counts:
        typer.echo("no raw tables yet: run `credit data load DIR` first", err=True)
        raise typer.Exit(1)
    clients = counts.get("application_train", 0) + counts.get("application_test", 0)
    typer.echo(f"{'table':<24}{'rows':>12}{'per client':>12}")
    for name, rows in counts.items():
        per_client = f"{rows / clients:.2f}" if clients else "-"
        typer.echo(f"{name:<24}{rows:>12,}{per_client:>12}")
    rate = default_rate(url) if "application_train" in counts else None
    if rate is not None:
        typer.echo(f"default rate (TARGET=1) in application_train: {rate:.2%}")
