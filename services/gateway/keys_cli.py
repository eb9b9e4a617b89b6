"""`credit keys create|list|revoke`: manage the gateway's API keys (the plain key is printed once)."""

from typing import Annotated

import psycopg2
import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.gateway.key_store import SCOPES, KeyStoreError, create_key, list_keys, revoke_key

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the gateway (stored hashed).")


def _engine() -> Engine:
    """The schema is brought up to date first, so keys can be made on a fresh database."""
    database_url = CommonSettings().database_url
    try:
        migrate(database_url)
    except (SQLAlchemyError, psycopg2.Error) as error:
        typer.echo(f"error: cannot reach the database: {str(error).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    return make_engine(database_url)


@keys_app.command("create")
def create_command(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. the front-office app.")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated, among: {', '.join(SCOPES)}.")] = ",".join(
        SCOPES
    ),
    rate_limit: Annotated[
        str | None, typer.Option(help="e.g. '100/second'; default: the gateway's GATEWAY_RATE_LIMIT.")
    ] = None,
) -> None:
    """Create a key and print it once: only its hash is stored, it cannot be shown again."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    try:
        record, plain = create_key(_engine(), name, wanted, rate_limit)
    except KeyStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"key id {record.key_id} for {name!r}, scopes {','.join(record.scopes)}; store it now:")
    typer.echo(plain)


@keys_app.command("list")
def list_command() -> None:
    """Every key ever made: id, name, scopes, rate limit, created, revoked (never the key itself)."""
    typer.echo(f"{'key id':<12}  {'name':<24} {'scopes':<28} {'rate limit':<12} {'created':<20} revoked")
    for key in list_keys(_engine()):
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "-"
        typer.echo(
            f"{key.key_id:<12}  {key.name[:24]:<24} {','.join(key.scopes)[:28]:<28} "
            f"{key.rate_limit or 'default':<12} {key.created_at:%Y-%m-%d %H:%M}     {revoked}"
        )


@keys_app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key id shown by `credit keys list`.")],
) -> None:
    """Revoke a key; the gateway refuses it within its key cache time (GATEWAY_API_KEY_CACHE_S)."""
    try:
        revoke_key(_engine(), key_id)
    except KeyStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id}")
