"""One definition, three paths: materialised (batch), on the fly (one client's rows) and raw payload.

Integer-valued features (codes, flags, counts) must match exactly, the others to 1e-9 relative.
"""

import numpy as np
import polars as pl
import pytest

from services.common.db import raw_connection
from services.feature_definitions.catalog import KINDS, NAMES
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, read_client_rows, read_raw, spec_for
from services.feature_store.build import build
from services.feature_store.online import compute_for_applications, compute_from_payload, features_for_client
from services.feature_store.store import read_materialised

_EXACT = np.array([KINDS[n] != "continuous" or n.endswith("_count") for n in NAMES])


def assert_same_vectors(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(actual[..., _EXACT], expected[..., _EXACT])
    np.testing.assert_allclose(
        actual[..., ~_EXACT], expected[..., ~_EXACT], rtol=1e-9, atol=0, equal_nan=True
    )


def _kaggle_rows(frame: pl.DataFrame, table: str) -> list[dict[str, object]]:
    """Rows as an API caller sends them: Kaggle column names, nulls left out."""
    names = {c.lower(): c for c in spec_for(table).columns}
    return [{names[k]: v for k, v in row.items() if v is not None} for row in frame.iter_rows(named=True)]


def _history_payload(raw: RawTables) -> dict[str, list[dict[str, object]]]:
    return {table: _kaggle_rows(getattr(raw, table), table) for table in HISTORY_TABLES}


@pytest.fixture(scope="module")
def built(joined_db: tuple[str, list[int]]) -> tuple[str, list[int], dict[int, np.ndarray]]:
    """On-the-fly vectors of every client computed before the build, then the build itself: the first
    on the engine the features service uses (for_few_rows: in-memory), the build on Polars' default."""
    url, ids = joined_db
    with raw_connection(url) as conn, pl.Config(engine_affinity="in-memory"):
        on_the_fly = {client_id: features_for_client(conn, client_id) for client_id in ids}
    assert {v.origin for v in on_the_fly.values()} == {"computed"}
    build(url)
    return url, ids, {client_id: v.values for client_id, v in on_the_fly.items()}


def test_materialised_equals_on_the_fly(built: tuple[str, list[int], dict[int, np.ndarray]]) -> None:
    url, ids, on_the_fly = built
    stored = read_materialised(url)
    assert sorted(stored.client_ids.tolist()) == sorted(ids)
    expected = np.stack([on_the_fly[int(i)] for i in stored.client_ids])
    assert_same_vectors(stored.values, expected)
    with raw_connection(url) as conn:
        assert features_for_client(conn, ids[0]).origin == "materialised"


def test_materialised_equals_raw_payload(built: tuple[str, list[int], dict[int, np.ndarray]]) -> None:
    url, ids, _ = built
    stored = read_materialised(url, ids)
    with raw_connection(url) as conn:
        for client_id, expected in zip(stored.client_ids.tolist(), stored.values, strict=True):
            raw = read_client_rows(conn, [client_id])
            application = _kaggle_rows(raw.application, "application")[0]
            from_payload, unseen = compute_from_payload(conn, application, _history_payload(raw))
            assert_same_vectors(from_payload, expected)
            assert unseen == {}


def test_materialised_equals_batch_of_raw_applications(
    built: tuple[str, list[int], dict[int, np.ndarray]],
) -> None:
    url, ids, _ = built
    applications = read_raw(url, ids).application.rename(str.upper)
    computed = compute_for_applications(url, applications)
    stored = read_materialised(url, computed.client_ids.tolist())
    order = np.argsort(computed.client_ids)
    np.testing.assert_array_equal(computed.client_ids[order], stored.client_ids)
    assert_same_vectors(computed.values[order], stored.values)
