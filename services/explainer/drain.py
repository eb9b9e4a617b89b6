"""Take explanation messages waiting in the broker queue, so that one task explains a batch of them.

Celery hands a worker one message at a time (prefetch 1). The task then takes up to N - 1 more in one
Redis round trip: a Lua script pops them from the queue and, in the same atomic step, records each in
kombu's `unacked` hash and `unacked_index` sorted set, the entries kombu itself writes for a message
delivered with acks_late. A taken message is therefore acknowledged (removed from both) only once its
record is written, one pipeline for the batch; if the worker dies first, kombu's periodic sweep (in any
worker) puts it back on the queue after the visibility timeout, as for Celery's own deliveries.

Why not kombu's `basic_get`/`ack`: it costs three round trips and ~1 ms of CPU per message (a new
redis-py client per operation, the message re-encoded as JSON), a third of a row's TreeSHAP.
A message the batch should not take (another task, a retry whose countdown has not elapsed, anything
unreadable) goes back to the head of the queue for Celery to deliver.
"""

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

import orjson
import redis
from kombu.transport.redis import Channel

from services.explainer.celery_app import EXPLAIN_TASK
from services.explainer.schemas import Job

# KEYS: queue, unacked hash, unacked index; ARGV: count, now, tag prefix, '"exchange", "routing key"'.
# kombu stores an unacked message as the JSON [message, exchange, routing key] under its delivery tag;
# any unique tag works, as kombu restores by the tags it finds in the index.
_TAKE = """
local taken = {}
for i = 1, tonumber(ARGV[1]) do
    local raw = redis.call('RPOP', KEYS[1])
    if not raw then break end
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3] .. i)
    redis.call('HSET', KEYS[2], ARGV[3] .. i, '[' .. raw .. ', ' .. ARGV[4] .. ']')
    taken[i] = raw
end
return taken
"""
UNACKED, UNACKED_INDEX = Channel.unacked_key, Channel.unacked_index_key


class Taken(NamedTuple):
    job: Job
    tag: str  # its entry in kombu's unacked hash and index


class Drain:
    def __init__(self, client: redis.Redis, queue: str) -> None:
        self.client = client
        self.queue = queue
        self._take = client.register_script(_TAKE)
        # Restored through the default exchange, whose routing key is the queue's name.
        self._route = orjson.dumps(["", queue]).decode()[1:-1]

    def take(self, limit: int) -> list[Taken]:
        """Up to `limit` explanation messages due now, oldest first."""
        if limit < 1:
            return []
        prefix = f"explainer-drain-{uuid.uuid4().hex}-"
        keys = [self.queue, UNACKED, UNACKED_INDEX]
        raws = self._take(keys=keys, args=[limit, time.time(), prefix, self._route])
        taken, back = [], []
        for i, raw in enumerate(raws, start=1):
            job = _due_job(raw)
            if job is None:
                back.append((f"{prefix}{i}", raw))
            else:
                taken.append(Taken(job, f"{prefix}{i}"))
        if back:
            self._give_back(back)
        return taken

    def ack(self, taken: list[Taken]) -> None:
        """Forget the messages for good: their records are written."""
        if taken:
            self._forget([t.tag for t in taken], self.client.pipeline()).execute()

    def _give_back(self, back: list[tuple[str, bytes]]) -> None:
        """To the head of the queue (the end RPOP takes from), in their order, in one transaction."""
        pipe = self.client.pipeline()
        pipe.rpush(self.queue, *(raw for _, raw in reversed(back)))
        self._forget([tag for tag, _ in back], pipe).execute()

    @staticmethod
    def _forget(tags: list[str], pipe: redis.client.Pipeline) -> redis.client.Pipeline:
        return pipe.zrem(UNACKED_INDEX, *tags).hdel(UNACKED, *tags)


def _due_job(raw: bytes) -> Job | None:
    """The explanation job a kombu message carries (Celery's protocol 2: body = [args, kwargs, embed]),
    or None if it is not one to run now."""
    try:
        message = orjson.loads(raw)
        headers = message["headers"]
        eta = headers.get("eta")
        if headers.get("task") != EXPLAIN_TASK or (eta and datetime.fromisoformat(eta) > datetime.now(UTC)):
            return None
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _, _ = orjson.loads(body)
        explanation_id, version, features, client_id, *raw = args  # raw: application, history (newer)
        application, history = (*raw, None, None)[:2]
    except (KeyError, TypeError, ValueError):  # orjson's and base64's errors are ValueErrors
        return None
    retries = int(headers.get("retries") or 0)
    return Job(explanation_id, version, features, client_id, retries, application, history)
