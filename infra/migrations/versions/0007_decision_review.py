"""Three outcomes and officers' reviews: `review` decisions, their warnings and band, the final say.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

A decision may now be `review` (inside the model's review band, or an unusual input); the log keeps the
warnings and the band it was decided with. An officer's review is stored on the decision itself, once:
the final decision (`approved`/`refused`), the reason code, a note, who and when. A decision's final
outcome is the officer's where there is one, else the automated one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLOAT = sa.Float(precision=53)


def upgrade() -> None:
    op.drop_constraint("ck_decision_log_decision", "decision_log", type_="check")
    op.create_check_constraint(
        "ck_decision_log_decision", "decision_log", "decision IN ('approved', 'review', 'refused')"
    )
    op.add_column(
        "decision_log",
        sa.Column("warnings", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("decision_log", sa.Column("explanation_id", sa.Text))
    op.add_column("decision_log", sa.Column("review_low", _FLOAT))
    op.add_column("decision_log", sa.Column("review_high", _FLOAT))
    op.add_column("decision_log", sa.Column("final_decision", sa.Text))
    op.add_column("decision_log", sa.Column("review_reason", sa.Text))
    op.add_column("decision_log", sa.Column("review_note", sa.Text))
    op.add_column("decision_log", sa.Column("reviewed_by", sa.Text))
    op.add_column("decision_log", sa.Column("reviewed_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "ck_decision_log_final_decision",
        "decision_log",
        "final_decision IS NULL OR (final_decision IN ('approved', 'refused') AND decision = 'review'"
        " AND reviewed_by IS NOT NULL AND reviewed_at IS NOT NULL AND review_reason IS NOT NULL)",
    )
    op.create_index(
        "ix_decision_log_pending_review",
        "decision_log",
        ["decided_at"],
        postgresql_where=sa.text("decision = 'review' AND final_decision IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_decision_log_pending_review", "decision_log")
    op.drop_constraint("ck_decision_log_final_decision", "decision_log", type_="check")
    for column in ("reviewed_at", "reviewed_by", "review_note", "review_reason", "final_decision"):
        op.drop_column("decision_log", column)
    for column in ("review_high", "review_low", "explanation_id", "warnings"):
        op.drop_column("decision_log", column)
    op.execute("DELETE FROM decision_log WHERE decision = 'review'")
    op.drop_constraint("ck_decision_log_decision", "decision_log", type_="check")
    op.create_check_constraint(
        "ck_decision_log_decision", "decision_log", "decision IN ('approved', 'refused')"
    )
