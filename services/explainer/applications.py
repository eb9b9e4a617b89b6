"""The raw rows behind an explanation job, for its recourse offers: the new applicant's application (and
history, given or stored), or a known client's rows read from Postgres, as `credit recourse` reads them."""

from collections.abc import Callable, Mapping, Sequence

import polars as pl
import psycopg2.extensions

from services.explainer.schemas import Job
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, frame_from_rows, read_client_rows

Connect = Callable[[], psycopg2.extensions.connection]


def needs_postgres(job: Job) -> bool:
    return job.application is None or job.history is None


def raw_for(job: Job, connect: Connect) -> RawTables | None:
    """The job's application with its history; None when it has neither raw application nor a client
    known to Postgres (its features came from elsewhere)."""
    if job.application is None:
        if job.client_id is None:
            return None
        raw = read_client_rows(connect(), [job.client_id])
        return None if raw.application.is_empty() else raw
    client_id = job.application.get("SK_ID_CURR")
    client_id = 0 if client_id is None else int(client_id)  # type: ignore[call-overload]
    application = frame_from_rows("application", [{**job.application, "SK_ID_CURR": client_id}])
    if job.history is None:
        stored = read_client_rows(connect(), [client_id])
        history = stored.history
    else:
        history = {table: _history(table, job.history.get(table, []), client_id) for table in HISTORY_TABLES}
    return RawTables(application=application, **history)


def _history(table: str, rows: Sequence[Mapping[str, object]], client_id: int) -> pl.DataFrame:
    """Given history rows all belong to this application, whatever SK_ID_CURR they carry."""
    frame = frame_from_rows(table, rows)
    if "sk_id_curr" in frame.columns:
        frame = frame.with_columns(sk_id_curr=pl.lit(client_id, pl.Int64))
    return frame
