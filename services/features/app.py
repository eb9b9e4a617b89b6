"""The features service: feature vectors by client id or from a raw application, and the feature schema.

Run: `uvicorn services.features.app:app`. Database work and Polars run in worker threads, never on
the event loop.
"""

import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.common.db import ReadPool
from services.common.http import ApiError
from services.common.service import create_service
from services.contracts.applications import BatchComputeRequest, ComputeRequest
from services.contracts.features import FeatureDistribution, FeatureSchema, FeatureVector, FeatureVectors
from services.feature_definitions.catalog import feature_schema
from services.feature_store import online
from services.feature_store.store import FeatureSetNotBuilt
from services.features.distribution import DistributionCache, UnknownFeature
from services.features.lifespan import FeaturesState, FeaturesStateDep, open_state, ready
from services.features.metrics import HTTP, UNSEEN_CATEGORIES, VECTORS
from services.features.schemas import vector_json, vectors_json
from services.features.settings import FeaturesSettings

router = APIRouter()


def _client_vector(pool: ReadPool, client_id: int) -> online.ClientVector | None:
    return pool.run(lambda conn: online.features_for_client(conn, client_id))


def _payload_vectors(pool: ReadPool, payloads: list[online.Payload]) -> tuple[np.ndarray, dict[str, int]]:
    return pool.run(lambda conn: online.compute_payloads(conn, payloads))


def _payload(request: ComputeRequest) -> online.Payload:
    application = request.application.model_dump(exclude_none=True)
    return application, None if request.history is None else request.history.model_dump(exclude_none=True)


async def _computed(state: FeaturesState, requests: list[ComputeRequest]) -> np.ndarray:
    """The requests' vectors, unseen category values and vectors counted in the metrics."""
    values, unseen = await run_in_threadpool(_payload_vectors, state.db, [_payload(r) for r in requests])
    for field, count in unseen.items():
        UNSEEN_CATEGORIES.labels(field).inc(count)
    VECTORS.labels("payload").inc(len(requests))
    return values


def _distribution(pool: ReadPool, cache: DistributionCache, name: str) -> FeatureDistribution:
    return pool.run(lambda conn: cache.get(conn, name))


@router.get("/features/schema", response_model=FeatureSchema)
async def get_schema() -> FeatureSchema:
    return feature_schema()


@router.get("/features/{client_id}", response_model=FeatureVector)
async def get_features(client_id: int, state: FeaturesStateDep) -> Response:
    found = await run_in_threadpool(_client_vector, state.db, client_id)
    if found is None:
        raise ApiError(404, "client_not_found", f"client {client_id} is unknown", {"client_id": client_id})
    VECTORS.labels(found.origin).inc()
    return Response(vector_json(client_id, found.origin, found.values), media_type="application/json")


@router.post("/features/compute", response_model=FeatureVector)
async def compute_features(body: ComputeRequest, state: FeaturesStateDep) -> Response:
    values = await _computed(state, [body])
    client_id = body.application.SK_ID_CURR  # type: ignore[attr-defined]
    return Response(vector_json(client_id, "payload", values[0]), media_type="application/json")


@router.post("/features/compute/batch", response_model=FeatureVectors)
async def compute_features_batch(body: BatchComputeRequest, state: FeaturesStateDep) -> Response:
    """Up to MAX_BATCH_APPLICATIONS raw applications in one call: one vector each, in request order."""
    values = await _computed(state, body.applications)
    client_ids = [request.application.SK_ID_CURR for request in body.applications]  # type: ignore[attr-defined]
    return Response(vectors_json(client_ids, "payload", values), media_type="application/json")


@router.get(
    "/features/{name}/distribution",
    response_model=FeatureDistribution,
    responses={
        404: {"description": "no feature of that name in the current feature set"},
        503: {"description": "the feature set is not built yet"},
    },
)
async def get_distribution(name: str, state: FeaturesStateDep) -> FeatureDistribution:
    """The feature's histogram over the labelled clients, split by outcome (cached per feature set)."""
    try:
        return await run_in_threadpool(_distribution, state.db, state.distributions, name)
    except UnknownFeature as error:
        raise ApiError(404, "feature_not_found", f"no feature {name!r}", {"feature": name}) from error
    except FeatureSetNotBuilt as error:
        raise ApiError(503, "feature_set_not_built", str(error)) from error


def create_app(settings: FeaturesSettings | None = None) -> FastAPI:
    return create_service(
        title="Features service",
        settings=settings or FeaturesSettings(),
        metrics=HTTP,
        open_state=open_state,
        ready=ready,
        routers=[router],
    )


app = create_app()
