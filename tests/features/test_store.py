"""Materialised storage: binary COPY round trip, subsets of clients, feature sets kept apart."""

import numpy as np
import polars as pl
import pytest

from services.common.db import raw_connection
from services.common.migrations import migrate
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.store import (
    FeatureMatrix,
    FeatureSetNotBuilt,
    matrix_chunks,
    read_materialised,
    read_vector,
    write_materialised,
)


def _matrix(client_ids: list[int], seed: int, set_hash: str = FEATURE_SET_HASH) -> FeatureMatrix:
    values = np.random.default_rng(seed).normal(size=(len(client_ids), len(NAMES))) * 1e6
    values[::2, ::3] = np.nan
    return FeatureMatrix(np.array(client_ids, dtype=np.int64), values, NAMES, set_hash)


def test_round_trip_keeps_every_bit_and_nan(database_url: str) -> None:
    migrate(database_url)
    written = _matrix([30, 10, 20, 2**40], seed=1)
    write_materialised(database_url, [written])
    read = read_materialised(database_url)
    order = np.argsort(written.client_ids)
    np.testing.assert_array_equal(read.client_ids, written.client_ids[order])
    np.testing.assert_array_equal(read.values, written.values[order])
    assert (read.names, read.feature_set_hash) == (NAMES, FEATURE_SET_HASH)
    with raw_connection(database_url) as conn:
        np.testing.assert_array_equal(read_vector(conn, 20), written.values[2])
        assert read_vector(conn, 99) is None


def test_subset_of_clients_skips_unknown_ids(database_url: str) -> None:
    migrate(database_url)
    write_materialised(database_url, [_matrix([1, 2, 3], seed=2)])
    read = read_materialised(database_url, np.array([3, 1, 404], dtype=np.int64))
    assert read.client_ids.tolist() == [1, 3]
    assert read.values.shape == (2, len(NAMES))


def test_rebuild_replaces_the_set_and_other_sets_are_ignored(database_url: str) -> None:
    migrate(database_url)
    write_materialised(database_url, [_matrix([1, 2], seed=3, set_hash="older0000000000")])
    write_materialised(database_url, [_matrix([1, 2, 3], seed=4)])
    assert write_materialised(database_url, [_matrix([5], seed=5), _matrix([6, 7], seed=6)]) == 3
    assert read_materialised(database_url).client_ids.tolist() == [5, 6, 7]


def test_frame_is_written_in_chunks_of_the_given_size() -> None:
    frame = pl.DataFrame({"sk_id_curr": [1, 2, 3, 4, 5]}).with_columns(
        [pl.lit(float(i)).alias(name) for i, name in enumerate(NAMES)]
    )
    chunks = list(matrix_chunks(frame, rows=2))
    assert [c.client_ids.tolist() for c in chunks] == [[1, 2], [3, 4], [5]]
    assert chunks[0].values[1, 3] == 3.0


def test_reading_a_set_never_built_says_how_to_build_it(database_url: str) -> None:
    migrate(database_url)
    with pytest.raises(FeatureSetNotBuilt, match="credit features build"):
        read_materialised(database_url)
