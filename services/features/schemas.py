"""Response bodies of the features service built on its hot path (the request bodies are contracts:
services/contracts/applications.py and services/contracts/features.py)."""

import numpy as np
import orjson

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES


def vector_json(client_id: int | None, origin: str, values: np.ndarray) -> bytes:
    """A FeatureVector body (services.contracts.features) for the hot path: orjson writes the dict
    directly (half pydantic's cost, no re-validation) and writes NaN, a missing value, as null."""
    return orjson.dumps(_vector(client_id, origin, values))


def vectors_json(client_ids: list[int | None], origin: str, values: np.ndarray) -> bytes:
    """A FeatureVectors body: one FeatureVector per row of `values`."""
    return orjson.dumps(
        {"vectors": [_vector(i, origin, row) for i, row in zip(client_ids, values, strict=True)]}
    )


def _vector(client_id: int | None, origin: str, values: np.ndarray) -> dict[str, object]:
    return {
        "client_id": client_id,
        "feature_set_hash": FEATURE_SET_HASH,
        "origin": origin,
        "features": dict(zip(NAMES, values.tolist(), strict=True)),
    }
