"""Monitoring: the decision log, shadow scores, outcomes, drift runs with per-feature results and reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Every event table is keyed by the ids its producer gives it (request id, row, client), so a
stream entry replayed after a crash inserts nothing the second time (ON CONFLICT DO NOTHING).
A feature vector is a float8[] (NaN = missing) plus the hash of its ordered names (feature_name_sets):
model versions may use different feature sets, and the drift job reads 20,000 vectors back with one
binary COPY instead of parsing half a gigabyte of JSON.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "feature_name_sets",
        sa.Column("names_hash", sa.Text, primary_key=True),
        sa.Column("names", postgresql.ARRAY(sa.Text), nullable=False),
    )
    op.create_table(
        "decision_log",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.BigInteger),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column(
            "names_hash",
            sa.Text,
            sa.ForeignKey("feature_name_sets.names_hash", name="fk_decision_log_names"),
            nullable=False,
        ),
        sa.Column("feature_values", postgresql.ARRAY(sa.Float(precision=53)), nullable=False),
        sa.Column("pd", sa.Float(precision=53), nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("threshold", sa.Float(precision=53), nullable=False),
        sa.Column("latency_ms", sa.Float(precision=53), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.CheckConstraint("decision IN ('approved', 'refused')", name="ck_decision_log_decision"),
    )
    op.execute("ALTER TABLE decision_log ALTER COLUMN feature_values SET STORAGE EXTERNAL")  # no compression
    op.create_index("ix_decision_log_decided_at", "decision_log", ["decided_at"])
    op.create_index("ix_decision_log_version_time", "decision_log", ["model_version", "decided_at"])
    op.create_index("ix_decision_log_client_id", "decision_log", ["client_id"])
    op.create_table(
        "shadow_scores",
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("row_index", sa.Integer, nullable=False),  # position in a batch request; 0 for one vector
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("champion_version", sa.Text, nullable=False),
        sa.Column("champion_pd", sa.Float(precision=53), nullable=False),
        sa.Column("challenger_version", sa.Text, nullable=False),
        sa.Column("challenger_pd", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "row_index", name="pk_shadow_scores"),
    )
    op.create_table(
        "outcomes",
        sa.Column("outcome_key", sa.Text, primary_key=True),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("defaulted", sa.Boolean, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("ix_outcomes_client_id", "outcomes", ["client_id"])
    op.create_index("ix_outcomes_request_id", "outcomes", ["request_id"])
    op.create_table(
        "rejected_entries",
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("fields", postgresql.JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.PrimaryKeyConstraint("stream", "entry_id", name="pk_rejected_entries"),
    )
    op.create_table(
        "drift_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("window_start", sa.DateTime(timezone=True)),
        sa.Column("window_end", sa.DateTime(timezone=True)),
        sa.Column("current_rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reference_rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("features_tested", sa.Integer, nullable=False, server_default="0"),
        sa.Column("drifted_features", sa.Integer, nullable=False, server_default="0"),
        sa.Column("drift_share", sa.Float(precision=53)),
        sa.Column("dataset_drift", sa.Boolean),
        sa.Column("score_psi", sa.Float(precision=53)),
        sa.Column("duration_s", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint("status IN ('ok', 'failed', 'skipped')", name="ck_drift_runs_status"),
    )
    op.create_table(
        "drift_features",
        sa.Column(
            "run_id",
            sa.BigInteger,
            sa.ForeignKey("drift_runs.id", ondelete="CASCADE", name="fk_drift_features_run"),
            nullable=False,
        ),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("stattest", sa.Text, nullable=False),
        sa.Column("score", sa.Float(precision=53), nullable=False),
        sa.Column("threshold", sa.Float(precision=53), nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("severity", sa.Float(precision=53), nullable=False),  # score past threshold, > 1 = drifted
        sa.PrimaryKeyConstraint("run_id", "feature", name="pk_drift_features"),
    )
    op.create_table(
        "drift_reports",
        sa.Column(
            "run_id",
            sa.BigInteger,
            sa.ForeignKey("drift_runs.id", ondelete="CASCADE", name="fk_drift_reports_run"),
            primary_key=True,
        ),
        sa.Column("html", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "drift_reports",
        "drift_features",
        "drift_runs",
        "rejected_entries",
        "outcomes",
        "shadow_scores",
        "decision_log",
        "feature_name_sets",
    ):
        op.drop_table(table)
