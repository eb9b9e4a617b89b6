"""The decision log's hash chain, the model digests replay compares, and the existing rows chained.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Each decision gets its chain partition, sequence and hash (services/monitoring/chain.py); the columns
stay nullable so a row written around the consumer is stored but reported by `credit decisions verify`
as unchained. decision_chain_heads holds each partition's last sequence and hash (the row the consumer
locks) and its anchor (first kept sequence and the hash before it, moved by pruning). model_digests is
the digest of each model version's artifacts as first seen with its decisions. Existing decisions are
chained here in (decided_at, request_id) order.
"""

from collections.abc import Sequence

import psycopg2.extensions
import sqlalchemy as sa
from alembic import op
from psycopg2.extras import execute_values

from services.monitoring import chain

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("decision_log", sa.Column("chain_partition", sa.SmallInteger))
    op.add_column("decision_log", sa.Column("chain_seq", sa.BigInteger))
    op.add_column("decision_log", sa.Column("chain_hash", sa.LargeBinary))
    op.create_unique_constraint("uq_decision_log_chain", "decision_log", ["chain_partition", "chain_seq"])
    op.create_table(
        "decision_chain_heads",
        sa.Column("partition", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False),
        sa.Column("anchor_hash", sa.LargeBinary, nullable=False),
        sa.Column("pruned_before", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "model_digests",
        sa.Column("model_version", sa.Text, primary_key=True),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    _chain_existing(op.get_bind().connection.dbapi_connection)


def _chain_existing(conn: psycopg2.extensions.connection, chunk: int = 5000) -> None:
    heads = {p: chain.Head(p, 0, chain.GENESIS, 1, chain.GENESIS) for p in range(chain.PARTITIONS)}
    with conn.cursor(name="chain_existing") as rows, conn.cursor() as cur:
        rows.execute(f"SELECT {', '.join(chain.COLUMNS)} FROM decision_log ORDER BY decided_at, request_id")
        while batch := rows.fetchmany(chunk):
            placed = [(chain.partition_of(row[0], chain.PARTITIONS), row) for row in batch]
            links = chain.extend(heads, placed)
            execute_values(
                cur,
                "UPDATE decision_log d SET chain_partition = v.p, chain_seq = v.s, chain_hash = v.h"
                " FROM (VALUES %s) AS v(r, p, s, h) WHERE d.request_id = v.r",
                [
                    (row[0], link.partition, link.seq, link.hash)
                    for (_, row), link in zip(placed, links, strict=True)
                ],
                page_size=chunk,
            )
        execute_values(
            cur,
            "INSERT INTO decision_chain_heads (partition, seq, hash, anchor_seq, anchor_hash) VALUES %s",
            [(h.partition, h.seq, h.hash, h.anchor_seq, h.anchor_hash) for h in heads.values()],
        )


def downgrade() -> None:
    op.drop_table("model_digests")
    op.drop_table("decision_chain_heads")
    op.drop_constraint("uq_decision_log_chain", "decision_log", type_="unique")
    for column in ("chain_hash", "chain_seq", "chain_partition"):
        op.drop_column("decision_log", column)
