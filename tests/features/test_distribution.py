"""A feature's population by outcome (services/features/distribution.py) and its route, on real rows."""

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.common.db import raw_connection
from services.common.migrations import migrate
from services.feature_definitions.catalog import KINDS, NAMES
from services.feature_store.build import build
from services.feature_store.store import read_materialised
from services.features.app import create_app
from services.features.distribution import BINS, DistributionCache, UnknownFeature, compute, histogram
from services.features.settings import FeaturesSettings


@pytest.fixture(scope="module")
def built(joined_db: tuple[str, list[int]]) -> str:
    url, _ = joined_db
    build(url)
    return url


@pytest.fixture(scope="module")
def service(built: str) -> Iterator[TestClient]:
    with TestClient(create_app(FeaturesSettings(database_url=built))) as client:
        yield client


def _labelled(url: str) -> dict[int, int]:
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT sk_id_curr, target FROM application_train WHERE target IS NOT NULL")
        return dict(cur.fetchall())


@pytest.mark.parametrize(
    "name", ["app_ext_source_3", "app_amt_credit", "app_code_gender_code", "app_flag_phone"]
)
def test_every_labelled_client_is_counted_once_under_its_outcome(built: str, name: str) -> None:
    targets = _labelled(built)
    matrix = read_materialised(built, list(targets))
    values = matrix.values[:, NAMES.index(name)]
    outcome = np.array([targets[int(i)] for i in matrix.client_ids])
    with raw_connection(built) as conn:
        found = compute(conn, name)
    assert (found.clients.repaid, found.clients.defaulted) == (int((outcome == 0).sum()), int(outcome.sum()))
    missing = np.isnan(values)
    assert (found.missing.repaid, found.missing.defaulted) == (
        int((missing & (outcome == 0)).sum()),
        int((missing & (outcome == 1)).sum()),
    )
    assert sum(b.repaid for b in found.bins) + found.missing.repaid == found.clients.repaid
    assert sum(b.defaulted for b in found.bins) + found.missing.defaulted == found.clients.defaulted
    assert found.kind == KINDS[name] and found.description


def test_few_distinct_values_get_one_bin_each() -> None:
    values = np.array([0.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    defaulted = np.array([False, True, False, False, False, True])
    bins = histogram(values, defaulted)
    assert [(b.lower, b.upper, b.repaid, b.defaulted) for b in bins] == [
        (0.0, 0.0, 1, 0),
        (1.0, 1.0, 1, 1),
        (2.0, 2.0, 2, 1),
    ]


def test_many_values_get_equal_width_bins_whose_ends_take_the_tails() -> None:
    values = np.r_[np.linspace(0, 1, 1000), -50.0, 80.0]
    bins = histogram(values, np.zeros(values.size, dtype=bool))
    assert len(bins) == BINS
    assert (bins[0].lower, bins[-1].upper) == (-50.0, 80.0)
    assert all(a.upper == b.lower for a, b in itertools.pairwise(bins))
    inner = [b.upper - b.lower for b in bins[1:-1]]
    assert max(inner) == pytest.approx(min(inner))
    assert bins[0].repaid >= 1 and bins[-1].repaid >= 1
    assert sum(b.repaid for b in bins) == values.size


def test_no_known_value_gives_no_bins() -> None:
    assert histogram(np.array([]), np.array([], dtype=bool)) == []


def test_cache_serves_a_feature_until_the_set_is_rebuilt(joined_db: tuple[str, list[int]]) -> None:
    url, ids = joined_db
    build(url)
    cache = DistributionCache()
    with raw_connection(url) as conn:
        first = cache.get(conn, "app_amt_income_total")
        assert cache.get(conn, "app_amt_income_total") is first
        with pytest.raises(UnknownFeature):
            cache.get(conn, "no_such_feature")
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute("UPDATE application_train SET target = NULL WHERE sk_id_curr = %s", (ids[0],))
    build(url)
    with raw_connection(url) as conn:
        again = cache.get(conn, "app_amt_income_total")
    assert again is not first
    total = first.clients.repaid + first.clients.defaulted
    assert again.clients.repaid + again.clients.defaulted == total - 1


def test_route_answers_the_histogram_and_404_for_an_unknown_feature(service: TestClient) -> None:
    found = service.get("/features/app_ext_source_2/distribution")
    assert found.status_code == 200
    assert found.json()["feature"] == "app_ext_source_2"
    missing = service.get("/features/no_such_feature/distribution")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "feature_not_found"
    assert missing.json()["error"]["details"] == {"feature": "no_such_feature"}


def test_route_says_to_build_when_the_feature_set_is_missing(database_url: str) -> None:
    migrate(database_url)
    with TestClient(create_app(FeaturesSettings(database_url=database_url))) as client:
        response = client.get("/features/app_ext_source_2/distribution")
    assert response.status_code == 503
    assert "credit features build" in response.json()["error"]["message"]
