"""Writes of stream events to Postgres: one multi-row INSERT per batch, duplicates ignored by key.

Used by the stream consumer; each function returns what was new, so counters count a decision once
however often its entry is delivered.
"""

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json, execute_values

from services.contracts.events import DecisionEvent, ShadowEvent
from services.monitoring import chain


def names_hash(names: Sequence[str]) -> str:
    """Identifies an ordered list of feature names (a model version's feature set)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def insert_decisions(cur: psycopg2.extensions.cursor, events: Sequence[DecisionEvent]) -> list[str]:
    """The decision ('approved'/'review'/'refused') of every row actually inserted, each chained.

    A vector is stored as float8[] in the order of its names (missing = NaN, so every vector of a feature
    set has the same length) and the names once per feature set. The chain heads of the batch's
    partitions are locked before looking for rows already stored, so a redelivered event is skipped and
    concurrent consumers extend a partition one after the other (services/monitoring/chain.py)."""
    hashes = {names: names_hash(names) for names in {tuple(e.features) for e in events}}
    execute_values(
        cur,
        "INSERT INTO feature_name_sets (names_hash, names) VALUES %s ON CONFLICT (names_hash) DO NOTHING",
        [(key, list(names)) for names, key in hashes.items()],
    )
    unique = list({e.request_id: e for e in events}.values())  # a batch may hold an entry twice
    count = chain.partitions(cur)
    placed = [(chain.partition_of(e.request_id, count), e) for e in unique]
    heads = chain.lock_heads(cur, {partition for partition, _ in placed})
    cur.execute(
        "SELECT request_id FROM decision_log WHERE request_id = ANY(%s)", ([e.request_id for e in unique],)
    )
    stored = {row[0] for row in cur.fetchall()}
    fresh = [(p, e, _columns(e, hashes[tuple(e.features)])) for p, e in placed if e.request_id not in stored]
    links = chain.extend(heads, [(partition, columns) for partition, _, columns in fresh])
    rows = [
        (*columns[:11], Json(columns[11]), *columns[12:], e.latency_ms, link.partition, link.seq, link.hash)
        for (_, e, columns), link in zip(fresh, links, strict=True)
    ]
    inserted = execute_values(
        cur,
        "INSERT INTO decision_log (request_id, decided_at, client_id, model_version, names_hash,"
        " feature_values, pd, decision, threshold, review_low, review_high, warnings, explanation_id, source,"
        " latency_ms, chain_partition, chain_seq, chain_hash)"
        " VALUES %s"
        " ON CONFLICT (request_id) DO NOTHING RETURNING decision",
        rows,
        fetch=True,
    )
    if len(inserted) != len(rows):  # a writer bypassed the heads' locks: roll back rather than fork
        raise RuntimeError(f"{len(rows) - len(inserted)} decisions appeared during the chained insert")
    chain.store_heads(cur, {link.partition: heads[link.partition] for link in links}.values())
    return [row[0] for row in inserted]


def _columns(event: DecisionEvent, key: str) -> tuple[Any, ...]:
    """The chained columns (chain.COLUMNS) of one event, as stored."""
    return (
        event.request_id, event.time, event.client_id, event.model_version, key,
        [math.nan if v is None else v for v in event.features.values()], event.pd, event.decision,
        event.threshold, *_band(event), [w.model_dump() for w in event.warnings], event.explanation_id,
        event.source,
    )  # fmt: skip


def _band(event: DecisionEvent) -> tuple[float | None, float | None]:
    band = event.review_band
    return (None, None) if band is None else (band.low, band.high)


def insert_shadows(cur: psycopg2.extensions.cursor, events: Sequence[ShadowEvent]) -> int:
    rows = [
        (
            e.request_id,
            e.row,
            e.time,
            e.champion_version,
            e.champion_pd,
            e.challenger_version,
            e.challenger_pd,
        )
        for e in events
    ]
    inserted = execute_values(
        cur,
        "INSERT INTO shadow_scores (request_id, row_index, scored_at, champion_version, champion_pd,"
        " challenger_version, challenger_pd) VALUES %s"
        " ON CONFLICT (request_id, row_index) DO NOTHING RETURNING 1",
        rows,
        fetch=True,
    )
    return len(inserted)


def insert_rejected(
    cur: psycopg2.extensions.cursor, stream: str, rejected: Sequence[tuple[str, dict[str, str], str]]
) -> None:
    """Entries that cannot be parsed are kept with the reason, so nothing disappears silently."""
    rows = [(stream, entry_id, Json(fields), reason) for entry_id, fields, reason in rejected]
    execute_values(
        cur,
        "INSERT INTO rejected_entries (stream, entry_id, fields, reason) VALUES %s"
        " ON CONFLICT (stream, entry_id) DO NOTHING",
        rows,
    )
