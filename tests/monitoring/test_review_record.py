"""Officers racing on one decision in review: exactly one review is stored, every other officer is told
who reviewed it first, and the decision row keeps that one review."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2
import pytest

from services.contracts.reviews import ReviewRecordIn
from services.monitoring import reviews
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import decision, write_decisions

OFFICERS = 8


def review_as(settings: MonitoringSettings, request_id: str, officer: int) -> str:
    review = ReviewRecordIn(decision="approved", reason="income_verified", actor=f"officer-{officer}")
    with closing(psycopg2.connect(settings.database_url)) as conn:
        try:
            reviews.record(conn, request_id, review)
        except reviews.ReviewConflict as conflict:
            conn.rollback()
            return str(conflict)
        conn.commit()
    return "recorded"


def test_concurrent_reviews_of_one_decision_store_exactly_one(settings: MonitoringSettings) -> None:
    pending = decision(pd=0.29, decision="review")
    write_decisions(settings, [pending])
    with ThreadPoolExecutor(OFFICERS) as pool:
        answers = list(pool.map(lambda i: review_as(settings, pending["request_id"], i), range(OFFICERS)))
    assert answers.count("recorded") == 1, answers
    winner = f"officer-{answers.index('recorded')}"
    assert all(a == f"decision {pending['request_id']!r} was reviewed already, by {winner}"
               for a in answers if a != "recorded"), answers  # fmt: skip
    with closing(psycopg2.connect(settings.database_url)) as conn:
        record = reviews.decision_record(conn, pending["request_id"])
    assert record is not None and record["review"]["actor"] == winner
    assert record["final_decision"] == "approved"


def test_a_decision_not_in_review_and_an_unknown_one_are_refused(settings: MonitoringSettings) -> None:
    approved = decision(pd=0.1)
    write_decisions(settings, [approved])
    assert review_as(settings, approved["request_id"], 1) == (
        f"decision {approved['request_id']!r} is approved, not in review"
    )
    with closing(psycopg2.connect(settings.database_url)) as conn:
        review = ReviewRecordIn(decision="refused", reason="other", actor="officer-1")
        with pytest.raises(reviews.DecisionNotFound, match="never-logged"):
            reviews.record(conn, "never-logged", review)
