"""`credit monitor ...`: run a drift job, consume the streams, show realised performance and fairness."""

import json
import signal
import threading
from contextlib import closing
from dataclasses import asdict

import psycopg2
import typer

from services.common.logging import configure_cli_logging
from services.common.migrations import migrate
from services.monitoring import drift_store, queries
from services.monitoring.consumer import StreamConsumer
from services.monitoring.drift_job import JobAlreadyRunning, run_job
from services.monitoring.settings import MonitoringSettings

monitor_app = typer.Typer(no_args_is_help=True, help="Monitoring: drift jobs, decision log, performance.")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _ready(settings: MonitoringSettings) -> None:
    try:
        migrate(settings.database_url)
    except Exception as error:  # a CLI prints the reason, not a traceback
        raise _fail(f"cannot prepare the database at {settings.database_url}: {error}") from error


@monitor_app.command("drift")
def drift_command(
    window: int = typer.Option(
        None, min=1, help="Latest decisions to test (default MONITORING_DRIFT_WINDOW_ROWS)."
    ),
) -> None:
    """Run one drift job now and print its summary as JSON (exit 1 unless it ran)."""
    configure_cli_logging()
    settings = MonitoringSettings()
    if window is not None:
        settings = settings.model_copy(update={"drift_window_rows": window})
    _ready(settings)
    try:
        run_id = run_job(settings)
    except JobAlreadyRunning as error:
        raise _fail(str(error)) from error
    with closing(psycopg2.connect(settings.database_url)) as conn:
        run = drift_store.get_run(conn, run_id, settings.top_drift_features)
    typer.echo(json.dumps(run, default=str, indent=2))
    if run is None or run["status"] != "ok":
        raise typer.Exit(1)


@monitor_app.command("consume")
def consume_command(
    drain: bool = typer.Option(False, "--drain", help="Exit once the streams are drained."),
) -> None:
    """Consume the decision and shadow streams into Postgres (until Ctrl-C, or drained)."""
    configure_cli_logging()
    settings = MonitoringSettings()
    _ready(settings)
    consumer = StreamConsumer(settings)
    try:
        if drain:
            typer.echo(json.dumps({"entries": consumer.drain()}))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            consumer.run(stop)
        except KeyboardInterrupt:
            stop.set()
    finally:
        consumer.close()


@monitor_app.command("performance")
def performance_command() -> None:
    """Realised and estimated performance over MONITORING_PERFORMANCE_WINDOW_DAYS, plus fairness ratios, as
    JSON."""
    settings = MonitoringSettings()
    _ready(settings)
    found = queries.performance(settings.database_url, settings.performance_window_days)
    groups = queries.fairness(settings.database_url, settings.stats_window_hours)
    typer.echo(json.dumps({"performance": asdict(found), "fairness": [asdict(g) for g in groups]}, indent=2))
