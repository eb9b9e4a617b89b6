"""Scoring one request through the platform: features -> scoring -> explanation claimed -> decision logged.

Features or scoring down is a 503 (nothing sensible can be answered); the explainer or the decision log
down only degrades the answer (explanation "unavailable") or delays the log (buffered), never the score.
The explanation task and the decision entry are sent by background tasks, after the response.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.common.http import ApiError
from services.common.logging import request_id_var
from services.explainer.client import RawApplication
from services.gateway.decision_log import DecisionLog, utc_now
from services.gateway.downstream import Downstream, Reply
from services.gateway.explanations import Explanations
from services.gateway.metrics import DECISIONS
from services.gateway.schemas import ExplanationRef, ScoreRequest, ScoreResponse


@dataclass(frozen=True)
class Backends:
    """Everything a score touches; built once per app (see app.py's lifespan)."""

    features: Downstream
    scoring: Downstream
    monitoring: Downstream
    explanations: Explanations
    decisions: DecisionLog


@dataclass(frozen=True)
class Prediction:
    pd: float
    decision: str
    threshold: float
    model_version: str
    points: int
    grade: str
    warnings: list[dict[str, Any]]
    review_band: dict[str, float] | None


async def score(
    backends: Backends, body: ScoreRequest, started: float, status_url: Callable[[str], str]
) -> ScoreResponse:
    """The whole request path, timed from `started`; `status_url` makes an explanation's poll URL."""
    source = "client_id" if body.client_id is not None else "application"
    client_id, features = await fetch_features(backends.features, body)
    prediction = await predict(backends.scoring, features)
    claimed = await backends.explanations.claim(prediction.model_version, features, client_id, raw_of(body))
    explanation = (
        ExplanationRef(id=None, status="unavailable", url=None)
        if claimed is None
        else ExplanationRef(
            id=claimed.explanation_id, status=claimed.status.value, url=status_url(claimed.explanation_id)
        )
    )
    response = ScoreResponse(
        request_id=request_id_var.get(),
        client_id=client_id,
        source=source,
        pd=prediction.pd,
        decision=prediction.decision,
        threshold=prediction.threshold,
        review_band=prediction.review_band,
        points=prediction.points,
        grade=prediction.grade,
        warnings=prediction.warnings,
        model_version=prediction.model_version,
        explanation=explanation,
    )
    DECISIONS.labels(prediction.decision, source).inc()
    backends.decisions.record(decision_entry(response, features, (time.perf_counter() - started) * 1000))
    return response


def raw_of(body: ScoreRequest) -> RawApplication | None:
    """A new applicant's fields, for the explainer's recourse offers (a known client's are in Postgres)."""
    if body.application is None:
        return None
    history = None if body.history is None else body.history.model_dump(exclude_none=True)
    return RawApplication(body.application.model_dump(exclude_none=True), history)


async def fetch_features(
    features: Downstream, body: ScoreRequest
) -> tuple[int | None, dict[str, float | None]]:
    """(client id, feature vector) from the features service; unknown client -> 404, bad fields -> 422."""
    if body.client_id is not None:
        reply = await features.get(f"/features/{body.client_id}")
    else:
        payload: dict[str, Any] = {"application": body.application.model_dump(exclude_none=True)}
        if body.history is not None:
            payload["history"] = body.history.model_dump(exclude_none=True)
        reply = await features.post("/features/compute", payload)
    if reply.status == 200:
        return reply.body["client_id"], reply.body["features"]
    if reply.status in (404, 422):
        error = reply.body["error"]
        code = "client_not_found" if reply.status == 404 else "invalid_input"
        raise ApiError(reply.status, code, error["message"], error["details"])
    raise unexpected_reply("features", reply)


async def predict(scoring: Downstream, features: dict[str, float | None]) -> Prediction:
    reply = await scoring.post("/predict", {"features": features})
    if reply.status != 200:
        raise unexpected_reply("scoring", reply)
    first = reply.body["predictions"][0]
    return Prediction(
        pd=first["pd"],
        decision=first["decision"],
        threshold=reply.body["threshold"],
        model_version=str(reply.body["model_version"]),
        points=first["points"],
        grade=first["grade"],
        warnings=first["warnings"],
        review_band=reply.body["review_band"],
    )


def decision_entry(
    response: ScoreResponse, features: dict[str, float | None], latency_ms: float
) -> dict[str, Any]:
    """One `decisions` stream entry (the contract monitoring consumes)."""
    return {
        "request_id": response.request_id,
        "time": utc_now(),
        "client_id": response.client_id,
        "model_version": response.model_version,
        "features": features,
        "pd": response.pd,
        "decision": response.decision,
        "threshold": response.threshold,
        "review_band": None if response.review_band is None else response.review_band.model_dump(),
        "warnings": [w.model_dump() for w in response.warnings],
        "explanation_id": response.explanation.id,
        "latency_ms": round(latency_ms, 3),
        "source": response.source,
    }


def unexpected_reply(service: str, reply: Reply) -> ApiError:
    """A downstream answer outside its contract (e.g. scoring rejecting the features service's vector)."""
    details = reply.body.get("error") if isinstance(reply.body, dict) else None
    return ApiError(
        502, "bad_gateway", f"the {service} service answered {reply.status} unexpectedly", details
    )


async def current_model(scoring: Downstream) -> dict[str, Any]:
    """The scoring service's champion: name, version, alias, threshold, feature names, metrics."""
    reply = await scoring.get("/model")
    if reply.status != 200:
        raise unexpected_reply("scoring", reply)
    return reply.body
