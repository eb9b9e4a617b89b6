"""Officers' reviews through the gateway: the queue, the final say and the decision record, all kept by
monitoring in Postgres (the decision log). The officer's API key name is the review's actor."""

from collections.abc import Callable

from services.contracts.reviews import DecisionRecord, ReviewIn, ReviewRecordIn
from services.gateway.clients import MonitoringClient
from services.gateway.schemas import QueuedReview, ReviewQueue


async def queue(
    monitoring: MonitoringClient, limit: int, explanation_url: Callable[[str], str]
) -> ReviewQueue:
    """Pending reviews, oldest first, each with the poll URL of its explanation."""
    found = await monitoring.pending_reviews(limit)
    reviews = [
        QueuedReview(**r.model_dump(), explanation_url=r.explanation_id and explanation_url(r.explanation_id))
        for r in found.reviews
    ]
    return ReviewQueue(pending=found.pending, reviews=reviews)


async def review(monitoring: MonitoringClient, request_id: str, body: ReviewIn, actor: str) -> DecisionRecord:
    return await monitoring.review(request_id, ReviewRecordIn(**body.model_dump(), actor=actor))
