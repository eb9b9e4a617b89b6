"""Response bodies of the features service built on its hot path (the request bodies are contracts:
services/contracts/applications.py and services/contracts/features.py)."""

import numpy as np
import orjson

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES


def vector_json(client_id: int | None, origin: str, values: np.ndarray) -> bytes:
    """A FeatureVector body (services.contracts.features) for the hot path: orjson writes the dict
    directly (half pydantic's cost, no re-validation) and writes NaN, a missing value, as null."""
    features = dict(zip(NAMES, values.tolist(), strict=True))
    vector = {
        "client_id": client_id,
        "feature_set_hash": FEATURE_SET_HASH,
        "origin": origin,
        "features": features,
    }
    return orjson.dumps(vector)
