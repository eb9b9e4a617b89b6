"""Bring a database to the latest schema: create it if missing, then `alembic upgrade head`.

Runs Alembic programmatically from infra/migrations (no alembic.ini needed), so every command and test
that needs the schema can call `migrate(url)`; it is idempotent.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config

from services.common.db import ensure_database

MIGRATIONS = Path(__file__).resolve().parents[2] / "infra" / "migrations"


def migrate(database_url: str) -> None:
    ensure_database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
