"""Gateway API keys: only a SHA-256 hash of each key is stored, with its scopes and optional rate limit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

A key reads `ck_<key_id>_<secret>`: `key_id` is public and finds the row, the hash of the whole key is
compared in constant time. Revoked keys stay (revoked_at set) so `credit keys list` keeps the history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False, comment="hex SHA-256 of the whole key"),
        sa.Column("scopes", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("rate_limit", sa.Text, nullable=True, comment="e.g. '100/second'; NULL = gateway default"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_name", "api_keys", ["name"])


def downgrade() -> None:
    op.drop_table("api_keys")
