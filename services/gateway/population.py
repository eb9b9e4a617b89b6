"""GET /v1/features/{name}/distribution: the population a loan officer compares a client with.

The histogram is the features service's (computed from the feature store, cached per feature set); the
gateway adds authentication, the error shape and the public OpenAPI entry. Part of app.py's /v1 router.
The first look at a feature scans the whole population (1-2 s on 307,511 clients), hence its own budget.
"""

from typing import Annotated

from fastapi import APIRouter, Path

from services.contracts.errors import ErrorResponse
from services.contracts.features import FeatureDistribution
from services.gateway.error_responses import BAD_GATEWAY
from services.gateway.lifespan import GatewayStateDep

FEATURE_NAME = r"^[a-z0-9_]{1,100}$"
router = APIRouter()


@router.get(
    "/features/{name}/distribution",
    response_model=FeatureDistribution,
    responses={404: {"model": ErrorResponse, "description": "no feature of that name"}, 502: BAD_GATEWAY},
)
async def get_feature_distribution(
    name: Annotated[str, Path(pattern=FEATURE_NAME, examples=["app_ext_source_3"])], state: GatewayStateDep
) -> FeatureDistribution:
    """One feature's histogram over the labelled clients, split by outcome (repaid / defaulted), with its
    description: where a client's value stands among clients who repaid and clients who defaulted."""
    return await state.backends.features.distribution(name, state.settings.distribution_timeout_s)
