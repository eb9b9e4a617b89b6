"""Outcomes through the gateway: monitoring settles each against the decision log and answers per item.

Synchronous, so the caller learns which outcomes settled a decision and why the others did not; when
monitoring cannot answer, a 503 with Retry-After says to send them again, which is harmless (re-sending
an outcome changes nothing).
"""

from datetime import UTC, datetime

from services.common.logging import request_id_var
from services.contracts.outcomes import OutcomeIn, OutcomesIn
from services.gateway.clients import MonitoringClient
from services.gateway.schemas import OutcomesAccepted, OutcomesRequest


async def settle(monitoring: MonitoringClient, body: OutcomesRequest) -> OutcomesAccepted:
    """An outcome without a time was observed now."""
    now = datetime.now(UTC)
    items = [
        OutcomeIn(client_id=o.client_id, defaulted=o.defaulted, time=o.time or now, request_id=o.request_id)
        for o in body.outcomes
    ]
    settled = await monitoring.settle(OutcomesIn(outcomes=items))
    return OutcomesAccepted(
        request_id=request_id_var.get(), accepted=settled.accepted, rejected=settled.rejected
    )
