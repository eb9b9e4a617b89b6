"""BatchSender (services/gateway/background.py): what leaves the response path is sent in order, retried
after a failure, refused when the queue is full, and counted when still unsent at shutdown."""

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.gateway.background import BatchSender, Meters


def meters() -> Meters:
    registry = CollectorRegistry()  # the process-wide registry already holds the gateway's own meters
    return Meters(
        pending=Gauge("pending", "-", registry=registry),
        failures=Counter("failures", "-", registry=registry),
        dropped=Counter("dropped", "-", registry=registry),
    )


def value(metric: Gauge | Counter) -> float:
    return metric.collect()[0].samples[0].value


def test_items_are_sent_in_order_in_batches_and_a_failed_batch_is_retried() -> None:
    sent: list[list[int]] = []
    failures_left = 2

    async def send(batch: list[int]) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise ConnectionError("down")
        sent.append(batch)

    async def scenario() -> Meters:
        sender = BatchSender("test", send, (ConnectionError,), capacity=100, batch=3, meters=meters())
        sender.start()
        for item in range(7):
            assert sender.put(item)
        await sender.stop(grace_s=5)
        return sender.meters

    used = asyncio.run(scenario())
    assert [item for batch in sent for item in batch] == list(range(7))
    assert max(len(batch) for batch in sent) == 3
    assert (value(used.failures), value(used.pending), value(used.dropped)) == (2, 0, 0)


def test_a_full_queue_refuses_and_unsent_items_are_counted_at_shutdown() -> None:
    async def never(batch: list[int]) -> None:
        raise ConnectionError("down for good")

    async def scenario() -> tuple[list[int], Meters]:
        sender = BatchSender("test", never, (ConnectionError,), capacity=2, batch=10, meters=meters())
        sender.start()
        assert sender.put(1) and sender.put(2)
        assert sender.full() and not sender.put(3)
        return await sender.stop(grace_s=0.1), sender.meters

    left, used = asyncio.run(scenario())
    assert left == [1, 2]
    assert value(used.dropped) == 1 + 2  # refused, then left over
    assert value(used.failures) >= 1
