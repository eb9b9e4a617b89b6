"""The model lifecycle's audit trail: one append-only row per event (trained, approved, promoted, ...).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Rows are only ever inserted: a trigger rejects UPDATE, DELETE and TRUNCATE, so a past approval or
promotion cannot be rewritten by the application or a hurried operator (a superuser can still drop the
trigger; the decision log's hash chain is the tamper-evident layer). `event` is free text checked by the
code (services/model/audit.py) so later lifecycle steps add events without a migration; `detail` holds
what each event needs (justification, note, previous champion, gate summary).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("model_name", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("length(btrim(actor)) > 0", name="ck_model_audit_actor"),
    )
    op.create_index("ix_model_audit_model_id", "model_audit", ["model_name", "id"])
    op.execute(
        "CREATE FUNCTION model_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'model_audit is append-only: % refused', TG_OP; END $$"
    )
    op.execute(
        "CREATE TRIGGER model_audit_no_rewrite BEFORE UPDATE OR DELETE ON model_audit"
        " FOR EACH ROW EXECUTE FUNCTION model_audit_append_only()"
    )
    op.execute(
        "CREATE TRIGGER model_audit_no_truncate BEFORE TRUNCATE ON model_audit"
        " FOR EACH STATEMENT EXECUTE FUNCTION model_audit_append_only()"
    )


def downgrade() -> None:
    op.drop_table("model_audit")
    op.execute("DROP FUNCTION model_audit_append_only()")
