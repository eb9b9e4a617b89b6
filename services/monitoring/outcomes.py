"""Outcomes settle decisions: each names one logged decision, and a decision has at most one outcome.

An outcome names its decision by request id, or else settles the client's latest decision at or before
the outcome's time. Sending the same outcome again changes nothing; a different outcome for a settled
decision replaces it (a correction) and the replaced one moves to `outcome_history`. An outcome that
settles no decision is answered with the reason and never stored. Batches are written under one
transaction-level advisory lock, so concurrent posts of the same outcome cannot both insert it, and a
batch is read as if its items were sent one after the other.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.extensions
from psycopg2.extras import execute_values

from services.contracts.outcomes import OutcomeIn, RejectedOutcome, SettledOutcome

LOCK_KEY = 0x6F757463  # pg_advisory_xact_lock key of outcome writes ("outc")


@dataclass(frozen=True)
class Decision:
    request_id: str
    client_id: int
    decided_at: datetime


@dataclass(frozen=True)
class Stored:
    """One revision of a decision's outcome, as the `outcomes` row holds it."""

    request_id: str
    client_id: int
    defaulted: bool
    observed_at: datetime
    revision: int
    matched_by: str
    source_request_id: str | None
    recorded_at: datetime | None  # None: written in this batch (the transaction's time)


_NAMED = "SELECT request_id, client_id, decided_at FROM decision_log WHERE request_id = ANY(%s)"
_LATEST = """
SELECT i.n, d.request_id, d.client_id, d.decided_at
  FROM unnest(%s::bigint[], %s::timestamptz[]) WITH ORDINALITY AS i(client_id, at, n)
  CROSS JOIN LATERAL (
        SELECT request_id, client_id, decided_at FROM decision_log x
         WHERE x.client_id = i.client_id AND x.decided_at <= i.at
         ORDER BY x.decided_at DESC, x.request_id DESC LIMIT 1
  ) d
"""
_CURRENT = (
    "SELECT request_id, client_id, defaulted, observed_at, revision, matched_by, source_request_id,"
    " recorded_at FROM outcomes WHERE request_id = ANY(%s)"
)


def settle(
    cur: psycopg2.extensions.cursor, outcomes: Sequence[OutcomeIn], source_request_id: str | None
) -> tuple[list[SettledOutcome], list[RejectedOutcome]]:
    """Match, compare and write a batch in the cursor's transaction; the caller commits."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    matched = match(cur, outcomes)
    decisions = [found for found in matched if isinstance(found, Decision)]
    cur.execute(_CURRENT, ([d.request_id for d in decisions],))
    current = {row[0]: Stored(*row) for row in cur.fetchall()}
    accepted, rejected, history, changed = [], [], [], {}
    for item, (outcome, found) in enumerate(zip(outcomes, matched, strict=True)):
        if isinstance(found, str):
            rejected.append(RejectedOutcome(item=item, client_id=outcome.client_id,
                                            request_id=outcome.request_id, reason=found))  # fmt: skip
            continue
        before = current.get(found.request_id)
        after = _revision(before, outcome, found, source_request_id)
        if after is not None:
            history.extend([before] if before is not None else [])
            current[found.request_id] = changed[found.request_id] = after
        result = "unchanged" if after is None else "recorded" if before is None else "corrected"
        revision = current[found.request_id].revision
        accepted.append(SettledOutcome(item=item, client_id=outcome.client_id, request_id=found.request_id,
                                       result=result, revision=revision))  # fmt: skip
    _write(cur, history, list(changed.values()))
    return accepted, rejected


def _revision(
    before: Stored | None, outcome: OutcomeIn, decision: Decision, source_request_id: str | None
) -> Stored | None:
    """The revision an outcome makes of its decision's outcome; None when it repeats the current one."""
    if before is not None and before.defaulted == outcome.defaulted:
        return None
    matched_by = "latest_decision" if outcome.request_id is None else "request_id"
    revision = 1 if before is None else before.revision + 1
    return Stored(decision.request_id, decision.client_id, outcome.defaulted, outcome.time, revision,
                  matched_by, source_request_id, None)  # fmt: skip


def match(cur: psycopg2.extensions.cursor, outcomes: Sequence[OutcomeIn]) -> list[Decision | str]:
    """Per outcome, the decision it settles or the reason it settles none."""
    named = [o.request_id for o in outcomes if o.request_id is not None]
    cur.execute(_NAMED, (named,))
    by_id = {row[0]: Decision(*row) for row in cur.fetchall()}
    unnamed = [(i, o) for i, o in enumerate(outcomes) if o.request_id is None]
    cur.execute(_LATEST, ([o.client_id for _, o in unnamed], [o.time for _, o in unnamed]))
    latest = {unnamed[int(n) - 1][0]: Decision(*row) for n, *row in cur.fetchall()}
    return [
        _named(outcome, by_id.get(outcome.request_id))
        if outcome.request_id is not None
        else latest.get(i, _no_decision(outcome))
        for i, outcome in enumerate(outcomes)
    ]


def _no_decision(outcome: OutcomeIn) -> str:
    return f"client {outcome.client_id} has no decision at or before {outcome.time.isoformat()}"


def _named(outcome: OutcomeIn, decision: Decision | None) -> Decision | str:
    if decision is None:
        return f"no decision has request_id {outcome.request_id!r}"
    if decision.client_id != outcome.client_id:
        return f"decision {decision.request_id!r} is of client {decision.client_id}, not {outcome.client_id}"
    if outcome.time < decision.decided_at:
        return (
            f"outcome time {outcome.time.isoformat()} is before decision {decision.request_id!r}"
            f" ({decision.decided_at.isoformat()})"
        )
    return decision


def _write(cur: psycopg2.extensions.cursor, history: list[Stored], changed: list[Stored]) -> None:
    """Replaced revisions into the history, then each changed decision's latest outcome."""
    if history:
        execute_values(
            cur,
            "INSERT INTO outcome_history (request_id, revision, client_id, defaulted, observed_at,"
            " matched_by, source_request_id, recorded_at) VALUES %s",
            [(s.request_id, s.revision, s.client_id, s.defaulted, s.observed_at, s.matched_by,
              s.source_request_id, s.recorded_at) for s in history],
            template="(%s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()))",
        )  # fmt: skip
    if changed:
        execute_values(
            cur,
            "INSERT INTO outcomes (request_id, client_id, defaulted, observed_at, revision, matched_by,"
            " source_request_id) VALUES %s ON CONFLICT (request_id) DO UPDATE SET"
            " defaulted = excluded.defaulted, observed_at = excluded.observed_at,"
            " revision = excluded.revision, matched_by = excluded.matched_by,"
            " source_request_id = excluded.source_request_id, recorded_at = now()",
            [(s.request_id, s.client_id, s.defaulted, s.observed_at, s.revision, s.matched_by,
              s.source_request_id) for s in changed],
        )  # fmt: skip


def outcome_of(cur: psycopg2.extensions.cursor, request_id: str) -> dict[str, Any] | None:
    """A decision's current outcome and the ones it replaced (oldest first); None while unsettled."""
    columns = ("revision", "defaulted", "observed_at", "matched_by", "source_request_id", "recorded_at")
    cur.execute(f"SELECT client_id, {', '.join(columns)} FROM outcomes WHERE request_id = %s", (request_id,))
    row = cur.fetchone()
    if row is None:
        return None
    cur.execute(
        f"SELECT {', '.join(columns)}, replaced_at FROM outcome_history WHERE request_id = %s"
        " ORDER BY revision",
        (request_id,),
    )
    history = [dict(zip((*columns, "replaced_at"), r, strict=True)) for r in cur.fetchall()]
    current = {**dict(zip(columns, row[1:], strict=True)), "replaced_at": None}
    return {"request_id": request_id, "client_id": row[0], "current": current, "history": history}
