"""`credit decisions ...`: replay logged decisions, verify the decision log's hash chain, prune it past
retention. Each exits 1 when something does not check, so a scheduled audit fails loudly."""

from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg2
import typer
from mlflow import MlflowClient

from services.common.logging import configure_cli_logging
from services.common.migrations import migrate
from services.monitoring import chain
from services.monitoring.replay import Models, Replayed, replay_one, replay_window
from services.monitoring.settings import MonitoringSettings

decisions_app = typer.Typer(no_args_is_help=True, help="The decision log: replay, verify, prune.")


def _settings() -> MonitoringSettings:
    configure_cli_logging()
    settings = MonitoringSettings()
    try:
        migrate(settings.database_url)
    except Exception as error:  # a CLI prints the reason, not a traceback
        typer.echo(f"cannot prepare the database at {settings.database_url}: {error}", err=True)
        raise typer.Exit(2) from error
    return settings


def _when(value: str, option: str) -> datetime:
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or time", param_hint=option) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _line(replayed: Replayed) -> str:
    head = f"{replayed.request_id} {replayed.decided_at.isoformat()} v{replayed.model_version}"
    if replayed.matched:
        body = f"match: pd {replayed.pd!r}, {replayed.decision}"
    else:
        body = "MISMATCH: " + "; ".join(replayed.reasons)
    return " ".join([head, body, *(f"({note})" for note in replayed.notes)])


@decisions_app.command("replay")
def replay_command(
    request_id: str = typer.Argument(None, help="One decision's request id."),
    since: str = typer.Option(None, "--since", help="Batch: decisions at or after this ISO time."),
    until: str = typer.Option(None, "--until", help="Batch: decisions before this ISO time (default now)."),
) -> None:
    """Rescore logged decisions with their logged model version; exit 1 on any mismatch."""
    if (request_id is None) == (since is None):
        raise typer.BadParameter("give a REQUEST_ID or --since (and optionally --until), not both")
    settings = _settings()
    models = Models(MlflowClient(settings.mlflow_tracking_uri))
    with closing(psycopg2.connect(settings.database_url)) as conn:
        if request_id is not None:
            found = replay_one(conn, request_id, models)
            if found is None:
                typer.echo(f"no decision with request id {request_id}", err=True)
                raise typer.Exit(2)
            replayed: Iterable[Replayed] = [found]
        else:
            end = datetime.now(UTC) if until is None else _when(until, "--until")
            replayed = replay_window(conn, _when(since, "--since"), end, models)
        counts = {"matched": 0, "mismatched": 0}
        for result in replayed:
            counts["matched" if result.matched else "mismatched"] += 1
            if request_id is not None or not result.matched:
                typer.echo(_line(result))
    typer.echo(f"matched {counts['matched']}, mismatched {counts['mismatched']}")
    if counts["mismatched"]:
        raise typer.Exit(1)


@decisions_app.command("verify")
def verify_command() -> None:
    """Recompute every partition's hash chain; name the first failing row of each; exit 1 on any."""
    settings = _settings()
    with closing(psycopg2.connect(settings.database_url)) as conn:
        result = chain.verify(conn)
    for head in result.heads:
        typer.echo(f"partition {head.partition}: seq {head.anchor_seq}..{head.seq} head {head.hash.hex()}")
    for failure in result.failures:
        typer.echo(f"FAILED {failure}")
    typer.echo(f"{result.rows} decisions checked, {len(result.failures)} failure(s)")
    if result.failures:
        raise typer.Exit(1)


@decisions_app.command("prune")
def prune_command(
    before: str = typer.Option(
        None, "--before", help="ISO time; default now minus MONITORING_DECISION_RETENTION_DAYS."
    ),
) -> None:
    """Delete whole chain prefixes decided before the cut (and their outcomes), keeping the chain
    verifiable from the anchors."""
    settings = _settings()
    cut = (
        datetime.now(UTC) - timedelta(days=settings.decision_retention_days)
        if before is None
        else _when(before, "--before")
    )
    with closing(psycopg2.connect(settings.database_url)) as conn:
        pruned = chain.prune(conn, cut)
    for done in pruned:
        typer.echo(
            f"partition {done.partition}: {done.deleted} deleted, chain kept from seq {done.anchor_seq}"
        )
    typer.echo(f"pruned {sum(p.deleted for p in pruned)} decisions before {cut.isoformat()}")
