"""Outcomes through the gateway: monitoring settles each against the decision log and answers per item.

Synchronous, so the caller learns which outcomes settled a decision and why the others did not; when
monitoring cannot answer, a 503 with Retry-After says to send them again, which is harmless (re-sending
an outcome changes nothing).
"""

from services.common.logging import request_id_var
from services.gateway.decision_log import utc_now
from services.gateway.downstream import Downstream
from services.gateway.schemas import OutcomesAccepted, OutcomesRequest
from services.gateway.scores import unexpected_reply


async def settle(monitoring: Downstream, body: OutcomesRequest) -> OutcomesAccepted:
    now = utc_now()
    items = [
        {
            "client_id": o.client_id,
            "defaulted": o.defaulted,
            "time": now if o.time is None else o.time.isoformat(),
            "request_id": o.request_id,
        }
        for o in body.outcomes
    ]
    reply = await monitoring.post("/outcomes", {"outcomes": items})
    if reply.status != 200:
        raise unexpected_reply("monitoring", reply)
    return OutcomesAccepted.model_validate({"request_id": request_id_var.get(), **reply.body})
