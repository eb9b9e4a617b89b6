"""The decision log's hash chain: every stored decision carries `chain_hash = SHA-256(previous hash ||
canonical bytes of the decision)`, per partition, so an edited, deleted, inserted or reordered row breaks
the chain from that row on (docs/decision-log.md).

A decision's partition is its request id's SHA-256 (first 8 bytes, big-endian) modulo the number of rows
in `decision_chain_heads`; each partition has its own sequence (1, 2, ...) and head (last sequence and
hash), locked FOR UPDATE by the writer, so concurrent consumers take turns per partition and never fork
a chain. Pruning drops a prefix of a partition and keeps the hash of its last dropped row as the anchor.

The encoding (version tag ENCODING) must never change in place: a new layout is a new tag and migration.
"""

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg2.extensions
from psycopg2.extras import execute_values

ENCODING = b"credit-decision-log/v1"
GENESIS = bytes(32)  # the "previous hash" of a partition's first row
PARTITIONS = 8  # rows the migration creates in decision_chain_heads
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

# decision_log columns the hash covers, in encoding order (the select list of every reader)
COLUMNS = (
    "request_id", "decided_at", "client_id", "model_version", "names_hash", "feature_values", "pd",
    "decision", "threshold", "review_low", "review_high", "warnings", "explanation_id", "source",
)  # fmt: skip


@dataclass(frozen=True)
class Link:
    """Where one decision sits in its chain."""

    partition: int
    seq: int
    hash: bytes


@dataclass(frozen=True)
class Head:
    partition: int
    seq: int  # last sequence written (0: none yet, or anchor_seq - 1 after a prune of everything)
    hash: bytes
    anchor_seq: int  # first sequence still stored
    anchor_hash: bytes  # hash preceding anchor_seq (GENESIS until a prune)


def partition_of(request_id: str, partitions: int) -> int:
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") % partitions


def encode(row: Sequence[Any], link_partition: int, seq: int) -> bytes:
    """The canonical bytes of one decision: `row` holds the values of COLUMNS as stored (or as about to
    be stored): strings UTF-8 with a 4-byte length, numbers IEEE-754 binary64 big-endian (one NaN, -0.0
    as 0.0),
    times as microseconds since the epoch, absent values a 0 byte, present ones a 1 byte then the value."""
    (request_id, decided_at, client_id, model_version, names_hash, values, pd, decision, threshold,
     review_low, review_high, warnings, explanation_id, source) = row  # fmt: skip
    vector = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 folds to 0.0, as Postgres stores it
    vector = np.where(np.isnan(vector), np.nan, vector).astype(">f8")  # one NaN (missing)
    return b"".join(
        (
            _text(ENCODING.decode()),
            struct.pack(">HQ", link_partition, seq),
            _text(request_id),
            struct.pack(">q", (decided_at - _EPOCH) // _MICRO),
            _optional(client_id, lambda v: struct.pack(">q", v)),
            _text(model_version),
            _text(names_hash),
            struct.pack(">I", len(vector)),
            vector.tobytes(),
            _float(pd),
            _text(decision),
            _float(threshold),
            _optional(review_low, _float),
            _optional(review_high, _float),
            _json(warnings),
            _optional(explanation_id, _text),
            _text(source),
        )
    )


def chained(previous: bytes, row: Sequence[Any], partition: int, seq: int) -> bytes:
    return hashlib.sha256(previous + encode(row, partition, seq)).digest()


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">I", len(data)) + data


def _float(value: float) -> bytes:
    return struct.pack(">d", float("nan") if value != value else value + 0.0)


def _optional(value: Any, encode_value: Any) -> bytes:
    return b"\x00" if value is None else b"\x01" + encode_value(value)


def _json(value: Any) -> bytes:
    """JSON as stored in JSONB, independent of its text: type tag, then keys sorted, numbers as binary64
    (JSONB may print 1e+20 as an integer)."""
    if value is None:
        return b"n"
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int | float):
        return b"d" + _float(float(value))
    if isinstance(value, str):
        return b"s" + _text(value)
    if isinstance(value, list):
        return b"l" + struct.pack(">I", len(value)) + b"".join(_json(v) for v in value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return b"o" + struct.pack(">I", len(items)) + b"".join(_text(k) + _json(v) for k, v in items)
    raise TypeError(f"not JSON: {value!r}")


def partitions(cur: psycopg2.extensions.cursor) -> int:
    cur.execute("SELECT count(*) FROM decision_chain_heads")
    return int(cur.fetchone()[0])


def lock_heads(cur: psycopg2.extensions.cursor, wanted: Iterable[int]) -> dict[int, Head]:
    """The heads of `wanted` partitions, row-locked until commit (in partition order: no deadlock)."""
    cur.execute(
        "SELECT partition, seq, hash, anchor_seq, anchor_hash FROM decision_chain_heads"
        " WHERE partition = ANY(%s) ORDER BY partition FOR UPDATE",
        (sorted(set(wanted)),),
    )
    return {row[0]: Head(row[0], row[1], bytes(row[2]), row[3], bytes(row[4])) for row in cur.fetchall()}


def extend(heads: dict[int, Head], rows: Sequence[tuple[int, Sequence[Any]]]) -> list[Link]:
    """Links for `rows` ((partition, COLUMNS values) in write order) after `heads`; `heads` is updated."""
    links = []
    for partition, row in rows:
        head = heads[partition]
        link = Link(partition, head.seq + 1, chained(head.hash, row, partition, head.seq + 1))
        heads[partition] = Head(partition, link.seq, link.hash, head.anchor_seq, head.anchor_hash)
        links.append(link)
    return links


def store_heads(cur: psycopg2.extensions.cursor, heads: Iterable[Head]) -> None:
    execute_values(
        cur,
        "UPDATE decision_chain_heads h SET seq = v.seq, hash = v.hash FROM (VALUES %s) AS v(partition, seq,"
        " hash) WHERE h.partition = v.partition",
        [(h.partition, h.seq, h.hash) for h in heads],
    )


@dataclass(frozen=True)
class Failure:
    """The first row of a partition that does not check, and which check it failed."""

    partition: int | None
    seq: int | None
    request_id: str | None
    check: str  # hash, sequence, partition, head, unchained
    detail: str

    def __str__(self) -> str:
        where = f"partition {self.partition} seq {self.seq} request {self.request_id}"
        return f"{where}: {self.check} check failed: {self.detail}"


@dataclass(frozen=True)
class Verified:
    rows: int
    heads: list[Head]
    failures: list[Failure]


def verify(conn: psycopg2.extensions.connection, itersize: int = 2000) -> Verified:
    """Recompute every partition's chain from its anchor; the first failing row of each partition."""
    with conn.cursor() as cur:
        cur.execute("SELECT partition, seq, hash, anchor_seq, anchor_hash FROM decision_chain_heads")
        heads = {r[0]: Head(r[0], r[1], bytes(r[2]), r[3], bytes(r[4])) for r in cur.fetchall()}
        cur.execute(
            "SELECT request_id FROM decision_log WHERE chain_seq IS NULL ORDER BY decided_at, request_id"
        )
        unchained = [r[0] for r in cur.fetchall()]
    failures = [
        Failure(None, None, rid, "unchained", "a decision outside the chain (not written by the consumer)")
        for rid in unchained[:1]
    ]
    rows, states = 0, {p: (h.anchor_seq, h.anchor_hash) for p, h in heads.items()}
    failed: set[int] = set()
    for partition, seq, stored, row in _chained_rows(conn, itersize):
        rows += 1
        if partition in failed:
            continue
        found = _check(partition, seq, stored, row, states.get(partition), len(heads))
        if found is not None:
            failures.append(found)
            failed.add(partition)
        else:
            states[partition] = (seq + 1, stored)
    for partition, head in sorted(heads.items()):
        expected, last = states[partition]
        if partition not in failed and (expected != head.seq + 1 or last != head.hash):
            failures.append(
                Failure(partition, expected, None, "head",
                        f"the chain ends at seq {expected - 1} but its head says {head.seq}: rows"
                        f" {expected}..{head.seq} are missing, or the head was altered")
            )  # fmt: skip
    failures.sort(key=lambda f: (f.partition is not None, f.partition or 0))
    return Verified(rows, [heads[p] for p in sorted(heads)], failures)


def _check(
    partition: int, seq: int, stored: bytes, row: tuple[Any, ...], state: tuple[int, bytes] | None, n: int
) -> Failure | None:
    request_id = row[0]
    if state is None:
        return Failure(partition, seq, request_id, "partition", f"no partition {partition} in the heads")
    expected, previous = state
    if seq != expected:
        what = (
            f"seq {expected}..{seq - 1} missing (deleted rows)" if seq > expected
            else f"seq {seq} is before the anchor {expected}"
        )  # fmt: skip
        return Failure(partition, seq, request_id, "sequence", what)
    if partition_of(request_id, n) != partition:
        return Failure(partition, seq, request_id, "partition", "the request id belongs to another chain")
    if chained(previous, row, partition, seq) != stored:
        return Failure(partition, seq, request_id, "hash",
                       "the stored hash does not match the row's fields and its predecessor: a field was"
                       " edited, or rows were swapped or moved")  # fmt: skip
    return None


def _chained_rows(
    conn: psycopg2.extensions.connection, itersize: int
) -> Iterator[tuple[int, int, bytes, tuple[Any, ...]]]:
    with conn.cursor(name="verify_chain") as cur:
        cur.itersize = itersize
        cur.execute(
            f"SELECT chain_partition, chain_seq, chain_hash, {', '.join(COLUMNS)} FROM decision_log"
            " WHERE chain_seq IS NOT NULL ORDER BY chain_partition, chain_seq"
        )
        for partition, seq, stored, *row in cur:
            yield partition, seq, bytes(stored), tuple(row)


@dataclass(frozen=True)
class Pruned:
    partition: int
    deleted: int
    anchor_seq: int


def prune(conn: psycopg2.extensions.connection, before: datetime) -> list[Pruned]:
    """Delete, per partition, the longest prefix of its chain decided before `before` (with the outcomes
    settling those decisions), and anchor the chain at its first kept row. One transaction."""
    with conn.cursor() as cur:
        heads = lock_heads(cur, range(partitions(cur)))
        done = []
        for head in heads.values():
            cur.execute(
                "SELECT coalesce(min(chain_seq), %s) FROM decision_log WHERE chain_partition = %s"
                " AND chain_seq >= %s AND decided_at >= %s",
                (head.seq + 1, head.partition, head.anchor_seq, before),
            )
            keep_from = int(cur.fetchone()[0])
            if keep_from <= head.anchor_seq:
                continue
            cur.execute(
                "SELECT chain_hash FROM decision_log WHERE chain_partition = %s AND chain_seq = %s",
                (head.partition, keep_from - 1),
            )
            found = cur.fetchone()
            if found is None:
                raise ValueError(
                    f"partition {head.partition} has no row {keep_from - 1}: run `credit decisions verify`"
                )
            anchor = bytes(found[0])
            segment = "SELECT request_id FROM decision_log WHERE chain_partition = %s AND chain_seq < %s"
            for table in ("outcome_history", "outcomes"):
                cur.execute(
                    f"DELETE FROM {table} WHERE request_id IN ({segment})", (head.partition, keep_from)
                )
            cur.execute(
                "DELETE FROM decision_log WHERE chain_partition = %s AND chain_seq < %s",
                (head.partition, keep_from),
            )
            done.append(Pruned(head.partition, cur.rowcount, keep_from))
            cur.execute(
                "UPDATE decision_chain_heads SET anchor_seq = %s, anchor_hash = %s, pruned_before = %s"
                " WHERE partition = %s",
                (keep_from, anchor, before, head.partition),
            )
    conn.commit()
    return done
