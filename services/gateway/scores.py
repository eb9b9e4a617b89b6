"""Scoring one request through the platform: features -> scoring -> explanation claimed -> decision logged.

Features or scoring down is a 503 (nothing sensible can be answered); the explainer's Redis or the decision
log down only delays the explanation's claim and the log (both buffered, see explanations.py), never the
score: the explanation is "unavailable" only when its buffer is full. The explanation task and the
decision event are sent by background tasks, after the response.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from services.common.logging import request_id_var
from services.contracts.events import DecisionEvent
from services.contracts.features import FeatureVector
from services.explainer.client import RawApplication
from services.gateway.clients import FeaturesClient, MonitoringClient, ScoringClient
from services.gateway.decision_log import DecisionLog
from services.gateway.explanations import Explanations
from services.gateway.metrics import DECISIONS
from services.gateway.schemas import ExplanationRef, ScoreRequest, ScoreResponse


@dataclass(frozen=True)
class Backends:
    """Everything a score touches; built once per app (see app.py's lifespan)."""

    features: FeaturesClient
    scoring: ScoringClient
    monitoring: MonitoringClient
    explanations: Explanations
    decisions: DecisionLog


async def score(
    backends: Backends,
    body: ScoreRequest,
    received: bytes | None,
    started: float,
    status_url: Callable[[str], str],
) -> ScoreResponse:
    """The whole request path, timed from `started`; `received`: the body's bytes when the features service
    can take them as they are (score_body.py); `status_url` makes an explanation's poll URL."""
    source = "client_id" if body.client_id is not None else "application"
    raw = raw_of(body)
    vector = await fetch_features(backends.features, body.client_id, raw, received)
    answer = await backends.scoring.predict(vector.features)
    prediction = answer.predictions[0]
    model_version = answer.model_version
    claimed = await backends.explanations.claim(model_version, vector.features, vector.client_id, raw)
    explanation = (
        ExplanationRef(id=None, status="unavailable", url=None)
        if claimed is None
        else ExplanationRef(
            id=claimed.explanation_id, status=claimed.status.value, url=status_url(claimed.explanation_id)
        )
    )
    response = ScoreResponse(
        request_id=request_id_var.get(),
        client_id=vector.client_id,
        source=source,
        pd=prediction.pd,
        decision=prediction.decision,
        threshold=answer.threshold,
        review_band=answer.review_band,
        points=prediction.points,
        grade=prediction.grade,
        warnings=prediction.warnings,
        model_version=model_version,
        explanation=explanation,
    )
    DECISIONS.labels(prediction.decision, source).inc()
    backends.decisions.record(decision_event(response, vector, (time.perf_counter() - started) * 1000))
    return response


def raw_of(body: ScoreRequest) -> RawApplication | None:
    """A new applicant's fields, dumped once for the explainer's recourse offers and, when its body cannot
    go as received, for the features service (None for a known client: its rows are in Postgres)."""
    if body.application is None:
        return None
    history = None if body.history is None else body.history.model_dump(exclude_none=True)
    return RawApplication(body.application.model_dump(exclude_none=True), history)


async def fetch_features(
    features: FeaturesClient, client_id: int | None, raw: RawApplication | None, received: bytes | None
) -> FeatureVector:
    """The vector of a known client (unknown -> 404) or of the application (bad fields -> 422), sent as
    received when it can be, else encoded from its fields."""
    if raw is None:
        return await features.vector(client_id)
    if received is None:
        payload: dict[str, object] = {"application": raw.application}
        if raw.history is not None:
            payload["history"] = raw.history
        received = orjson.dumps(payload)
    return await features.compute(received)


def decision_event(response: ScoreResponse, vector: FeatureVector, latency_ms: float) -> DecisionEvent:
    """The decision for monitoring. Built unvalidated: every part comes from a model validated already
    (the answer, the parsed vector), and this is the hot path; monitoring validates what it reads."""
    return DecisionEvent.model_construct(
        request_id=response.request_id,
        time=datetime.now(UTC),
        client_id=response.client_id,
        model_version=response.model_version,
        features=vector.features,
        pd=response.pd,
        decision=response.decision,
        threshold=response.threshold,
        review_band=response.review_band,
        warnings=response.warnings,
        explanation_id=response.explanation.id,
        latency_ms=round(latency_ms, 3),
        source=response.source,
    )
