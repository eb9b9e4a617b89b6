"""Alembic environment: migrations always run online against the project's database.

`services.common.migrations.migrate()` passes the URL in `config.attributes`; the alembic CLI
(`alembic -c infra/alembic.ini ...`) falls back to DATABASE_URL.
"""

from alembic import context

from services.common.db import make_engine
from services.common.settings import CommonSettings


def run_migrations() -> None:
    database_url = context.config.attributes.get("database_url") or CommonSettings().database_url
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
