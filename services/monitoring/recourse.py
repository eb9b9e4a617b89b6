"""The recourse stream's side in monitoring: the explainer worker's offers for a refusal or a review,
stored once per explanation (`decision_recourse`) and shown in the decision record of every decision
pointing to that explanation."""

from collections.abc import Sequence

import psycopg2.extensions
from psycopg2.extras import Json, execute_values

from services.contracts.events import RecourseEvent


def insert_recourse(cur: psycopg2.extensions.cursor, events: Sequence[RecourseEvent]) -> int:
    """How many were new: a redelivered or repeated explanation's event is ignored."""
    rows = {
        e.explanation_id: (e.explanation_id, e.model_version, Json(e.recourse.model_dump(mode="json")))
        for e in events
    }
    inserted = execute_values(
        cur,
        "INSERT INTO decision_recourse (explanation_id, model_version, recourse) VALUES %s"
        " ON CONFLICT (explanation_id) DO NOTHING RETURNING explanation_id",
        list(rows.values()),
        fetch=True,
    )
    return len(inserted)
