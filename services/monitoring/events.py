"""Writes of stream events to Postgres: one multi-row INSERT per batch, duplicates ignored by key.

Used by the stream consumer; each function returns what was new, so counters count a decision once
however often its entry is delivered.
"""

import hashlib
import math
from collections.abc import Sequence

import psycopg2.extensions
from psycopg2.extras import Json, execute_values

from services.contracts.events import DecisionEvent, ShadowEvent


def names_hash(names: Sequence[str]) -> str:
    """Identifies an ordered list of feature names (a model version's feature set)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def insert_decisions(cur: psycopg2.extensions.cursor, events: Sequence[DecisionEvent]) -> list[str]:
    """The decision ('approved'/'review'/'refused') of every row actually inserted.

    A vector is stored as float8[] in the order of its names (missing = NaN, so every vector of a feature
    set has the same length) and the names once per feature set."""
    hashes = {names: names_hash(names) for names in {tuple(e.features) for e in events}}
    execute_values(
        cur,
        "INSERT INTO feature_name_sets (names_hash, names) VALUES %s ON CONFLICT (names_hash) DO NOTHING",
        [(key, list(names)) for names, key in hashes.items()],
    )
    rows = [
        (e.request_id, e.time, e.client_id, e.model_version, hashes[tuple(e.features)],
         [math.nan if v is None else v for v in e.features.values()], e.pd, e.decision, e.threshold,
         e.latency_ms, e.source, Json([w.model_dump() for w in e.warnings]), e.explanation_id, *_band(e))
        for e in events
    ]  # fmt: skip
    inserted = execute_values(
        cur,
        "INSERT INTO decision_log (request_id, decided_at, client_id, model_version, names_hash,"
        " feature_values, pd, decision, threshold, latency_ms, source, warnings, explanation_id, review_low,"
        " review_high)"
        " VALUES %s"
        " ON CONFLICT (request_id) DO NOTHING RETURNING decision",
        rows,
        fetch=True,
    )
    return [row[0] for row in inserted]


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
