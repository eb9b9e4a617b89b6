"""Outcomes settle decisions: one current outcome per decision, corrections kept as history.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01

Before, an outcome was keyed by the request that posted it, so a retried post was stored again, and an
outcome without its decision's request id counted for every decision of its client. Now `outcomes` is
keyed by the request id of the decision it settles (one row per decision: figures count each decision
once); a correction replaces the row and moves the previous one to `outcome_history`.

Existing rows migrate by the new rule: an outcome names its decision when its request id is one of the
client's decisions, otherwise it settles the client's latest decision at or before its time. Repeats of
the same outcome collapse into one; a changed outcome becomes a new revision, the earlier ones history.
Rows that settle no decision are kept in `rejected_entries` (stream `outcomes`, entry id
`migrated:<old key>`) with the reason, not counted. The drift run also records the validation AUC of the
version it compared, the figure the estimated AUC is held against.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")

# The old rows with the decision each settles (NULL: none), in the order they were recorded.
_RESOLVED = """
WITH resolved AS (
    SELECT l.*, COALESCE(named.request_id, latest.request_id) AS decision_id,
           CASE WHEN named.request_id IS NOT NULL THEN 'request_id' ELSE 'latest_decision' END AS matched_by,
           CASE WHEN named.request_id IS NULL THEN l.request_id END AS source_request_id
      FROM outcomes_0004 l
      LEFT JOIN decision_log named ON named.request_id = l.request_id AND named.client_id = l.client_id
      LEFT JOIN LATERAL (
            SELECT d.request_id FROM decision_log d
             WHERE d.client_id = l.client_id AND d.decided_at <= l.observed_at
             ORDER BY d.decided_at DESC, d.request_id DESC LIMIT 1
      ) latest ON named.request_id IS NULL
),
changes AS (  -- a row that repeats the previous outcome of its decision changes nothing
    SELECT *, lag(defaulted) OVER w AS previous
      FROM resolved WHERE decision_id IS NOT NULL
    WINDOW w AS (PARTITION BY decision_id ORDER BY observed_at, logged_at, outcome_key)
),
revisions AS (
    SELECT *, row_number() OVER w AS revision, lead(logged_at) OVER w AS replaced_at
      FROM changes WHERE previous IS NULL OR previous <> defaulted
    WINDOW w AS (PARTITION BY decision_id ORDER BY observed_at, logged_at, outcome_key)
)
"""


def upgrade() -> None:
    op.rename_table("outcomes", "outcomes_0004")
    op.execute("ALTER INDEX ix_outcomes_client_id RENAME TO ix_outcomes_0004_client_id")
    op.execute("ALTER INDEX ix_outcomes_request_id RENAME TO ix_outcomes_0004_request_id")
    op.create_table(
        "outcomes",
        sa.Column(
            "request_id",
            sa.Text,
            sa.ForeignKey("decision_log.request_id", name="fk_outcomes_decision"),
            primary_key=True,
        ),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("defaulted", sa.Boolean, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("matched_by", sa.Text, nullable=False),
        sa.Column("source_request_id", sa.Text),  # the request that posted this revision
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.CheckConstraint("matched_by IN ('request_id', 'latest_decision')", name="ck_outcomes_matched_by"),
    )
    op.create_index("ix_outcomes_client_id", "outcomes", ["client_id"])
    op.create_table(
        "outcome_history",
        sa.Column(
            "request_id",
            sa.Text,
            sa.ForeignKey("decision_log.request_id", name="fk_outcome_history_decision"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("defaulted", sa.Boolean, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_by", sa.Text, nullable=False),
        sa.Column("source_request_id", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.PrimaryKeyConstraint("request_id", "revision", name="pk_outcome_history"),
    )
    op.execute(
        _RESOLVED + "INSERT INTO outcomes (request_id, client_id, defaulted, observed_at, revision,"
        " matched_by, source_request_id, recorded_at)"
        " SELECT decision_id, client_id, defaulted, observed_at, revision, matched_by, source_request_id,"
        " logged_at"
        " FROM revisions WHERE replaced_at IS NULL"
    )
    op.execute(
        _RESOLVED + "INSERT INTO outcome_history (request_id, revision, client_id, defaulted, observed_at,"
        " matched_by, source_request_id, recorded_at, replaced_at)"
        " SELECT decision_id, revision, client_id, defaulted, observed_at, matched_by, source_request_id,"
        " logged_at, replaced_at FROM revisions WHERE replaced_at IS NOT NULL"
    )
    op.execute(
        _RESOLVED + "INSERT INTO rejected_entries (stream, entry_id, fields, reason)"
        " SELECT 'outcomes', 'migrated:' || outcome_key,"
        " jsonb_build_object('client_id', client_id, 'defaulted', defaulted, 'time', observed_at,"
        " 'request_id', request_id),"
        " 'settles no decision: client ' || client_id || ' has no decision at or before ' || observed_at"
        " FROM resolved WHERE decision_id IS NULL ON CONFLICT (stream, entry_id) DO NOTHING"
    )
    op.drop_table("outcomes_0004")
    op.add_column("drift_runs", sa.Column("validation_auc", sa.Float(precision=53)))


def downgrade() -> None:
    """Back to 0004's table with each decision's current outcome (0004 has no place for the history)."""
    op.drop_column("drift_runs", "validation_auc")
    op.create_table(
        "outcomes_0004",
        sa.Column("outcome_key", sa.Text, primary_key=True),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("defaulted", sa.Boolean, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.execute(
        "INSERT INTO outcomes_0004 (outcome_key, client_id, request_id, defaulted, observed_at, logged_at)"
        " SELECT request_id || ':' || client_id, client_id, request_id, defaulted, observed_at, recorded_at"
        " FROM outcomes"
    )
    op.drop_table("outcome_history")
    op.drop_table("outcomes")
    op.rename_table("outcomes_0004", "outcomes")
    op.create_index("ix_outcomes_client_id", "outcomes", ["client_id"])
    op.create_index("ix_outcomes_request_id", "outcomes", ["request_id"])
