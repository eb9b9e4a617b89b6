"""Officers' reviews through the gateway: the queue, the final say and the decision record, all kept by
monitoring in Postgres (the decision log). The officer's API key name is the review's actor."""

from collections.abc import Callable
from urllib.parse import quote

from services.common.http import ApiError
from services.gateway.downstream import Downstream, Reply
from services.gateway.schemas import ReviewQueue
from services.gateway.scores import unexpected_reply
from services.monitoring.schemas import DecisionRecord, ReviewIn


async def queue(monitoring: Downstream, limit: int, explanation_url: Callable[[str], str]) -> ReviewQueue:
    """Pending reviews, oldest first, each with the poll URL of its explanation."""
    reply = await monitoring.get(f"/reviews?limit={limit}")
    if reply.status != 200:
        raise unexpected_reply("monitoring", reply)
    reviews = [
        {**r, "explanation_url": r["explanation_id"] and explanation_url(r["explanation_id"])}
        for r in reply.body["reviews"]
    ]
    return ReviewQueue.model_validate({"pending": reply.body["pending"], "reviews": reviews})


async def review(monitoring: Downstream, request_id: str, body: ReviewIn, actor: str) -> DecisionRecord:
    reply = await monitoring.post(
        f"/decisions/{quote(request_id, safe='')}/review", {**body.model_dump(), "actor": actor}
    )
    return _record(reply)


async def record(monitoring: Downstream, request_id: str) -> DecisionRecord:
    return _record(await monitoring.get(f"/decisions/{quote(request_id, safe='')}"))


def _record(reply: Reply) -> DecisionRecord:
    """The decision record; an unknown decision (404) or a second review (409) as monitoring said."""
    if reply.status == 200:
        return DecisionRecord.model_validate(reply.body)
    if reply.status in (404, 409):
        error = reply.body["error"]
        raise ApiError(reply.status, error["code"], error["message"], error["details"])
    raise unexpected_reply("monitoring", reply)
