"""Explanations (services/gateway/explanations.py) over a stand-in for the explainer's client: a claim Redis
cannot take now is deferred, answered pending, then made and its task sent once Redis answers, unless
the explanation is done or a worker has it; at shutdown only claims made on the response path are
released."""

import asyncio
from typing import cast

from services.contracts.explanations import ExplanationStatus, Status
from services.explainer.client import Claim, ExplainerClient, ExplainerUnavailable, task_of
from services.explainer.schemas import Job
from services.gateway.explanations import Explanations
from services.gateway.metrics import EXPLANATION_QUEUE
from services.gateway.settings import GatewaySettings
from tests.gateway.test_background import value

FOREVER = 10**9


class FlakyExplainer:
    """ExplainerClient's claim, queue, status and release over a dict of record statuses; the next
    `claim_failures` claims and `queue_failures` sends raise ExplainerUnavailable."""

    def __init__(self, claim_failures: int = 0, queue_failures: int = 0) -> None:
        self.claim_failures, self.queue_failures = claim_failures, queue_failures
        self.records: dict[str, Status] = {}
        self.claims: list[str] = []  # attempts, failed ones too
        self.queued: list[str] = []
        self.released: list[str] = []

    async def claim_task(self, job: Job) -> Claim:
        self.claims.append(job.explanation_id)
        if self.claim_failures:
            self.claim_failures -= 1
            raise ExplainerUnavailable("down")
        found = self.records.get(job.explanation_id)
        if found not in (None, Status.FAILED):
            return Claim(job.explanation_id, found, job=None)
        self.records[job.explanation_id] = Status.PENDING
        return Claim(job.explanation_id, Status.PENDING, job)

    async def queue(self, jobs: list[Job]) -> None:
        if self.queue_failures:
            self.queue_failures -= 1
            raise ExplainerUnavailable("broker down")
        self.queued += [job.explanation_id for job in jobs]

    async def status(self, explanation_id: str) -> ExplanationStatus | None:
        found = self.records.get(explanation_id)
        return None if found is None else ExplanationStatus(explanation_id=explanation_id, status=found)

    async def release(self, explanation_id: str) -> None:
        self.released.append(explanation_id)

    def close(self) -> None:
        pass


def explanations(client: FlakyExplainer) -> Explanations:
    return Explanations(cast(ExplainerClient, client), GatewaySettings())


def ids(*features: float) -> list[str]:
    return [task_of("3", {"a": a}).explanation_id for a in features]


def test_a_claim_refused_is_answered_pending_then_made_and_its_task_sent_once_redis_answers() -> None:
    # the response path's claim fails, then the sender's first try; its first send fails after the claims
    client = FlakyExplainer(claim_failures=2, queue_failures=1)
    first, second = ids(1.0, 2.0)

    async def scenario() -> tuple[
        list[Claim | None], list[ExplanationStatus | None], ExplanationStatus | None
    ]:
        tested = explanations(client)
        tested.start()
        claims = [await tested.claim("3", {"a": 1.0}, 7), await tested.claim("3", {"a": 2.0}, 8)]
        while_down = [await tested.status(first), await tested.status("3-unknown")]
        await tested.stop(grace_s=5)
        return claims, while_down, await tested.status(first)

    claims, while_down, after = asyncio.run(scenario())
    assert claims == [Claim(first, Status.PENDING, job=None), Claim(second, Status.PENDING, job=None)]
    assert while_down == [ExplanationStatus(explanation_id=first, status=Status.PENDING), None]
    # the response path's claim (failed), the sender's (failed), its claims, those of the batch sent again:
    # the second score, in the pause after the failure, did not try Redis
    assert client.claims == [first, first, first, second, first, second]
    assert client.queued == [first, second] and client.released == []
    assert after == ExplanationStatus(explanation_id=first, status=Status.PENDING)  # now Redis's answer


def test_a_deferred_claim_sends_the_task_unless_the_explanation_is_done_or_running() -> None:
    client = FlakyExplainer(claim_failures=1)
    lost_reply, done, running, new = ids(1.0, 2.0, 3.0, 4.0)
    # pending: a claim Redis made while its reply was lost (the response path's own, here)
    client.records = {lost_reply: Status.PENDING, done: Status.DONE, running: Status.RUNNING}

    async def scenario() -> None:
        tested = explanations(client)
        tested.start()
        for features in (1.0, 2.0, 3.0, 4.0):
            await tested.claim("3", {"a": features}, None)
        await tested.stop(grace_s=5)

    asyncio.run(scenario())
    assert client.queued == [lost_reply, new]


def test_at_shutdown_claims_made_are_released_and_deferred_ones_only_dropped() -> None:
    client = FlakyExplainer(queue_failures=FOREVER)
    [claimed] = ids(1.0)

    async def scenario() -> None:
        tested = explanations(client)
        tested.start()
        await tested.claim("3", {"a": 1.0}, 7)
        client.claim_failures = FOREVER
        await tested.claim("3", {"a": 2.0}, 8)
        await tested.stop(grace_s=0.2)

    dropped = value(EXPLANATION_QUEUE.dropped)
    asyncio.run(scenario())
    assert client.released == [claimed]  # not the deferred one: its claim may be another caller's
    assert client.queued == []
    assert value(EXPLANATION_QUEUE.dropped) - dropped == 2
