"""Recourse offers of decisions: what the explainer worker offered a refusal or a review, once per
explanation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Keyed by explanation id, not request id: one explanation serves every decision on the same vector of the
same model version (the explainer dedupes them), and decision_log.explanation_id joins it to each. A
redelivered event is stored once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_recourse",
        sa.Column("explanation_id", sa.Text, primary_key=True),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("recourse", postgresql.JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("decision_recourse")
