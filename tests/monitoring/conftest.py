"""Fixtures of the monitoring tests: migrated throwaway database, private Redis streams, synthetic
feature sets (undrifted reference, undrifted and drifted traffic from the same seed), decision factory."""

import uuid
from collections.abc import Iterator

import polars as pl
import pytest
import redis

from services.common.migrations import migrate
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.synth_features import synth_features

SYNTH_CLIENTS = 2000  # above 1,000 rows Evidently picks distance tests, as in production windows


@pytest.fixture
def settings(database_url: str) -> Iterator[MonitoringSettings]:
    """Settings on a migrated database and streams no other test uses; the streams are deleted after."""
    migrate(database_url)
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    found = MonitoringSettings(
        database_url=database_url,
        decisions_stream=f"{prefix}:decisions",
        shadow_stream=f"{prefix}:shadow",
        recourse_stream=f"{prefix}:recourse",
        run_consumer=False,
        consumer_block_ms=100,
        drift_min_rows=50,
        stats_cache_s=0.0,
    )
    yield found
    client = redis.Redis.from_url(found.redis_url)
    client.delete(found.decisions_stream, found.shadow_stream, found.recourse_stream)
    client.close()


@pytest.fixture
def redis_client(settings: MonitoringSettings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def feature_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """reference: seed 1; current: seed 2; drifted: seed 2 with --drift (same rows but the shifted ones)."""
    root = tmp_path_factory.mktemp("synth")
    return {
        "reference": synth_features(root / "reference", SYNTH_CLIENTS, seed=1, drift=False),
        "current": synth_features(root / "current", SYNTH_CLIENTS, seed=2, drift=False),
        "drifted": synth_features(root / "drifted", SYNTH_CLIENTS, seed=2, drift=True),
    }
