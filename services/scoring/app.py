"""The scoring service: PD and decision from the registry's champion model, hot-reloaded on promotion.

Run: `uvicorn services.scoring.app:app --host 127.0.0.1 --port 8002`.
"""

import time
from dataclasses import asdict

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.common.logging import request_id_var
from services.common.service import create_service
from services.contracts.scoring import (
    InputWarning,
    ModelDescription,
    PointsScale,
    Prediction,
    PredictRequest,
    PredictResponse,
    ReviewBandOut,
    RiskGrade,
)
from services.model.registry import MODEL_NAME
from services.scoring.lifespan import ScoringStateDep, open_state, ready
from services.scoring.metrics import HTTP, observe_predictions
from services.scoring.serving import FeatureRow, InvalidFeatures, LoadedModel
from services.scoring.settings import ScoringSettings
from services.scoring.shadow import ShadowJob

router = APIRouter()


def _score(champion: LoadedModel, rows: list[tuple[str, FeatureRow]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows as a matrix, PDs); bad feature names become a 422 naming them."""
    try:
        values = champion.matrix(rows)
    except InvalidFeatures as error:
        raise ApiError(422, "invalid_features", str(error), error.details) from None
    return values, champion.predict_pd(values)


async def _parse(request: Request) -> PredictRequest:
    """pydantic-core parses and validates the JSON in one pass, ~5x faster than FastAPI's json.loads plus
    validation on a 500-feature vector; errors keep the usual 422 shape."""
    try:
        return PredictRequest.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


@router.post(
    "/predict",
    response_model=PredictResponse,
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": PredictRequest.model_json_schema()}}}
    },
)
async def predict(request: Request, state: ScoringStateDep) -> Response:
    champion = state.champion()
    rows = (await _parse(request)).located_rows()
    if len(rows) > state.settings.max_batch:
        raise ApiError(
            413, "batch_too_large", f"{len(rows)} instances; at most {state.settings.max_batch} per request"
        )
    if len(rows) <= state.settings.inline_max_rows:
        values, pd_values = _score(champion, rows)
    else:
        values, pd_values = await run_in_threadpool(_score, champion, rows)
    model = champion.model
    warnings = [model.warnings(row) for _, row in rows]
    decisions = model.outcome(pd_values, np.array([bool(w) for w in warnings])).tolist()
    challenger = state.holder.challenger
    if challenger is not None and challenger.version != champion.version:
        state.shadow.submit(
            ShadowJob(request_id_var.get(), champion, challenger, values, pd_values, time.time())
        )
    observe_predictions(pd_values.tolist(), decisions)
    body = PredictResponse(
        model_name=MODEL_NAME,
        model_version=champion.version,
        threshold=model.threshold,
        review_band=None if model.review is None else ReviewBandOut(**asdict(model.review)),
        predictions=[
            Prediction(
                pd=value,
                decision=decision,
                points=model.scale.points(value),
                grade=model.scale.grade(value),
                warnings=[InputWarning(**asdict(w)) for w in found],
            )
            for value, decision, found in zip(pd_values.tolist(), decisions, warnings, strict=True)
        ],
    )
    return Response(body.model_dump_json(), media_type="application/json")  # already valid: no re-check


@router.get("/model", response_model=ModelDescription)
async def model(state: ScoringStateDep) -> ModelDescription:
    champion = state.champion()
    model = champion.model
    return ModelDescription(
        name=MODEL_NAME,
        version=champion.version,
        alias=champion.alias,
        threshold=champion.model.threshold,
        feature_set_hash=champion.model.feature_set_hash,
        feature_names=list(champion.model.feature_names),
        metrics=champion.metrics,
        review_band=None if model.review is None else ReviewBandOut(**asdict(model.review)),
        points_scale=PointsScale(
            points_to_double_odds=model.scale.points_to_double_odds,
            anchor_points=model.scale.anchor_points,
            anchor_odds=model.scale.anchor_odds,
        ),
        master_scale=[RiskGrade(grade=g, pd_below=upper) for g, upper in model.scale.grades],
    )


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service(
        title="Scoring service",
        settings=settings or ScoringSettings(),
        metrics=HTTP,
        open_state=open_state,
        ready=ready,
        routers=[router],
    )


app = create_app()
