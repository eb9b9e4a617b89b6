"""Materialised features: feature sets (ordered names, hash) and one float8[] vector per client and set.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

One array column instead of one column per feature keeps clear of Postgres' 1,600-column limit and lets
several feature sets live side by side (a model reads the set whose hash it was trained on). Missing
values are stored as NaN so every vector has the same length and the batch COPY uses fixed-size rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feature_sets",
        sa.Column("feature_set_hash", sa.Text, primary_key=True),
        sa.Column("names", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "feature_values",
        sa.Column(
            "feature_set_hash",
            sa.Text,
            sa.ForeignKey("feature_sets.feature_set_hash", ondelete="CASCADE", name="fk_feature_values_set"),
            nullable=False,
        ),
        sa.Column("sk_id_curr", sa.BigInteger, nullable=False),
        sa.Column("vals", postgresql.ARRAY(sa.Float(precision=53)), nullable=False),
        sa.PrimaryKeyConstraint("feature_set_hash", "sk_id_curr", name="pk_feature_values"),
    )
    # Keep a vector (8 bytes a feature, about 6 KB) inside its row: TOAST would cost a second index
    # lookup on every read and chunking on every write. MAIN + a page-sized target toasts only rows
    # that cannot fit a page (more than about 1,000 features).
    op.execute("ALTER TABLE feature_values ALTER COLUMN vals SET STORAGE MAIN")
    op.execute("ALTER TABLE feature_values SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.drop_table("feature_values")
    op.drop_table("feature_sets")
