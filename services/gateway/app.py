"""The gateway: the public REST API (/v1) in front of the features, scoring and explainer services.

Run: `uvicorn services.gateway.app:app --port 8000`. Routes only; the work lives in scores.py (request
path), auth.py / ratelimit.py (who may call, how often) and decision_log.py (monitoring stream).
"""

import time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Security, params
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader

from services.common.http import ApiError
from services.common.service import create_service
from services.contracts.errors import ErrorResponse
from services.contracts.explanations import ExplanationStatus, GlobalImportance, ImportanceStatus, Status
from services.contracts.outcomes import REQUEST_ID_PATTERN
from services.contracts.reviews import DecisionRecord, ReviewIn
from services.contracts.scoring import ModelDescription
from services.gateway import outcomes, population, reviews, scores, web
from services.gateway.auth import authenticate, require_scope
from services.gateway.downstream import server_timing, timed_calls
from services.gateway.error_responses import BAD_GATEWAY, ERROR_RESPONSES
from services.gateway.key_store import ApiKey
from services.gateway.lifespan import GatewayStateDep, open_state, ready
from services.gateway.metrics import HTTP
from services.gateway.schemas import (
    OutcomesAccepted,
    OutcomesRequest,
    ReviewQueue,
    ScoreRequest,
    ScoreResponse,
)
from services.gateway.score_body import ScoreBodyRoute, forwardable
from services.gateway.settings import GatewaySettings

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="created with `credit keys create`")
EXPLANATION_ID = r"^[1-9][0-9]*-[0-9a-f]{24}$"
v1 = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


def scoped(scope: str) -> params.Depends:
    """A dependency: the caller's key must exist, hold `scope`, and be within its rate limit."""

    async def check(state: GatewayStateDep, presented: Annotated[str | None, Security(API_KEY)]) -> ApiKey:
        record = await authenticate(state.keys, presented)
        require_scope(record, scope)
        await state.limiter.check(record.key_id, record.rate_limit)
        return record

    return Depends(check)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a retry with the same key and body gets the first answer (no second decision)",
    ),
]
IDEMPOTENCY_CONFLICT = {
    "model": ErrorResponse,
    "description": "Idempotency-Key reused with another body, or its first request is still running",
}


scores_router = APIRouter(route_class=ScoreBodyRoute)  # bodies validated from their bytes (score_body.py)


@scores_router.post(
    "/scores",
    response_model=ScoreResponse,
    responses={
        404: {"model": ErrorResponse, "description": "unknown client"},
        409: IDEMPOTENCY_CONFLICT,
        502: BAD_GATEWAY,
    },
)
async def create_score(
    request: Request,
    response: Response,
    body: ScoreRequest,
    state: GatewayStateDep,
    key: Annotated[ApiKey, scoped("score")],
    idempotency_key: IdempotencyKey = None,
) -> ScoreResponse | JSONResponse:
    """Score a known client (`client_id`) or a new application; the explanation follows asynchronously.
    The `Server-Timing` header gives the time spent in the features and scoring services."""
    started = time.perf_counter()
    calls = timed_calls()
    received = await forwardable(request, body)
    answer = await state.idempotency.run(
        f"{key.key_id}:scores",
        idempotency_key,
        body,
        lambda: scores.score(state.backends, body, received, started, explanation_url),
    )
    response.headers["Server-Timing"] = server_timing(calls)
    return answer


v1.include_router(scores_router)


def explanation_url(explanation_id: str) -> str:
    """The poll URL of an explanation (get_explanation's path; a format, not a route lookup per score)."""
    return f"{v1.prefix}/explanations/{explanation_id}"


@v1.get(
    "/explanations/{explanation_id}",
    response_model=ExplanationStatus,
    dependencies=[scoped("explain")],
    responses={
        202: {"model": ExplanationStatus, "description": "pending or running: poll again"},
        404: {"model": ErrorResponse, "description": "unknown or expired explanation id"},
    },
)
async def get_explanation(
    explanation_id: Annotated[str, Path(pattern=EXPLANATION_ID)], state: GatewayStateDep
) -> ExplanationStatus | JSONResponse:
    """The explanation's status; once done, its SHAP contributions and reason codes."""
    found = await state.backends.explanations.status(explanation_id)
    if found is None:
        raise ApiError(404, "explanation_not_found", f"no explanation {explanation_id} (unknown or expired)")
    if found.status in (Status.PENDING, Status.RUNNING):
        return JSONResponse(found.model_dump(mode="json"), status_code=202, headers={"Retry-After": "1"})
    return found


@v1.get(
    "/model", response_model=ModelDescription, dependencies=[scoped("model")], responses={502: BAD_GATEWAY}
)
async def get_model(state: GatewayStateDep) -> ModelDescription:
    """The champion model now serving: version, decision threshold, validation/test metrics."""
    return await state.backends.scoring.model()


@v1.get(
    "/model/importance",
    response_model=GlobalImportance,
    dependencies=[scoped("model")],
    responses={
        202: {"model": ImportanceStatus, "description": "being computed: poll again"},
        502: BAD_GATEWAY,
    },
)
async def get_importance(state: GatewayStateDep) -> GlobalImportance | JSONResponse:
    """Global feature importance (mean |SHAP value|) of the champion model."""
    backends = state.backends
    model = await backends.scoring.model()
    found = await backends.explanations.importance(model.version)
    if found.status == Status.DONE and found.result is not None:
        return found.result
    if found.status == Status.FAILED:
        raise ApiError(
            503, "importance_failed", "importance could not be computed", found.reason, {"Retry-After": "30"}
        )
    return JSONResponse(found.model_dump(mode="json"), status_code=202, headers={"Retry-After": "2"})


@v1.post(
    "/outcomes",
    response_model=OutcomesAccepted,
    status_code=202,
    dependencies=[scoped("outcomes")],
    responses={502: BAD_GATEWAY},
)
async def create_outcomes(body: OutcomesRequest, state: GatewayStateDep) -> OutcomesAccepted:
    """Observed repayment or default: each outcome settles one decision (re-sending changes nothing)."""
    return await outcomes.settle(state.backends.monitoring, body)


RequestId = Annotated[str, Path(min_length=1, max_length=200, pattern=REQUEST_ID_PATTERN)]
NOT_FOUND = {"model": ErrorResponse, "description": "no decision with this request id (yet) in the log"}


@v1.get("/reviews", response_model=ReviewQueue, dependencies=[scoped("review")], responses={502: BAD_GATEWAY})
async def get_reviews(
    state: GatewayStateDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ReviewQueue:
    """Decisions waiting for an officer, oldest first, with PD, warnings and the explanation link."""
    return await reviews.queue(state.backends.monitoring, limit, explanation_url)


@v1.post(
    "/decisions/{request_id}/review",
    response_model=DecisionRecord,
    responses={
        404: NOT_FOUND,
        409: {
            "model": ErrorResponse,
            "description": "reviewed already, not a decision in review, or Idempotency-Key conflict",
        },
        502: BAD_GATEWAY,
    },
)
async def review_decision(
    request_id: RequestId,
    body: ReviewIn,
    state: GatewayStateDep,
    key: Annotated[ApiKey, scoped("review")],
    idempotency_key: IdempotencyKey = None,
) -> DecisionRecord | JSONResponse:
    """An officer's final decision on a `review` decision, stored once; the actor is the key's name."""
    monitoring = state.backends.monitoring
    return await state.idempotency.run(
        f"{key.key_id}:review:{request_id}",
        idempotency_key,
        body,
        lambda: reviews.review(monitoring, request_id, body, key.name),
    )


@v1.get(
    "/decisions/{request_id}",
    response_model=DecisionRecord,
    dependencies=[scoped("decisions")],
    responses={404: NOT_FOUND, 502: BAD_GATEWAY},
)
async def get_decision(request_id: RequestId, state: GatewayStateDep) -> DecisionRecord:
    """The full decision record: inputs, warnings, model version, PD, threshold and band, automated
    outcome, the officer's review and the final outcome."""
    return await state.backends.monitoring.decision(request_id)


v1.include_router(population.router, dependencies=[scoped("explain")])


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    app = create_service(
        title="Credit scoring API",
        description="Scores, explanations, model information and outcomes for front-office apps.",
        settings=settings,
        metrics=HTTP,
        open_state=open_state,
        ready=ready,
        routers=[v1],
    )
    if settings.cors_origins:  # added last, it wraps the rest so preflights answer first
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "X-Request-ID", "Content-Type"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    web.mount(app)
    return app


app = create_app()
