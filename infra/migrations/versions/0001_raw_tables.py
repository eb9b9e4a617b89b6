"""Raw Kaggle tables, load runs and the quarantine of rejected rows.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Columns come from services/data/tables.py (the one source of truth for headers and kinds): each table is
`spec.name.lower()`, each column the Kaggle name lower-cased; id -> bigint, number -> double precision,
text -> text. No foreign keys between the Kaggle tables: real extracts (heads, samples) do not join.
Indexes serve per-client lookups (features read one client's rows online).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.data.tables import TABLES, TableSpec

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_TYPES = {"id": sa.BigInteger, "number": sa.Double, "text": sa.Text}
INDEXED = ("SK_ID_CURR", "SK_ID_BUREAU", "SK_ID_PREV")


def upgrade() -> None:
    for spec in TABLES:
        _create_kaggle_table(spec)
    _create_load_tables()


def downgrade() -> None:
    for name in ("load_quarantine", "load_run_files", "load_runs", *(t.name.lower() for t in TABLES)):
        op.drop_table(name)


def _create_kaggle_table(spec: TableSpec) -> None:
    table = spec.name.lower()
    columns = [
        sa.Column(c.lower(), SQL_TYPES[spec.kind(c)](), nullable=c not in spec.key_columns)
        for c in spec.columns
    ]
    constraints = (
        [sa.PrimaryKeyConstraint(spec.primary_key.lower(), name=f"pk_{table}")] if spec.primary_key else []
    )
    op.create_table(table, *columns, *constraints)
    for column in INDEXED:
        if column in spec.columns and column != spec.primary_key:
            op.create_index(f"ix_{table}_{column.lower()}", table, [column.lower()])


def _create_load_tables() -> None:
    op.create_table(
        "load_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("directory", sa.Text, nullable=False),
    )
    op.create_table(
        "load_run_files",
        sa.Column(
            "run_id", sa.BigInteger, sa.ForeignKey("load_runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("table_name", sa.Text, primary_key=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("rows_loaded", sa.BigInteger, nullable=False),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "load_quarantine",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("load_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("table_name", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("line", sa.BigInteger, nullable=False, comment="CSV: file line (header = 1); Parquet: row"),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False, comment="CSV: the line as read, or the row re-joined"),
    )
    op.create_index("ix_load_quarantine_run_id", "load_quarantine", ["run_id", "table_name"])
