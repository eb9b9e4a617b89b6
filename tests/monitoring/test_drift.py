"""Drift detection on `credit data synth --drift` traffic, features built by the features pipeline.

Drifted and undrifted sets from the same seed hold the same clients and differ only where the generator
shifts DRIFTED_COLUMNS, so which features the drift shifts is known exactly: those whose value changes for
at least a tenth of the clients (a week's payment delay also moves a handful of instalments across
"last year" boundaries; a feature changed for 5 clients in 2,000 has not drifted).
"""

import numpy as np
import polars as pl

from services.data.synth import DRIFTED_COLUMNS
from services.feature_definitions.catalog import NAMES
from services.model.stability import score_psi
from services.monitoring.drift import compare

SHARE_THRESHOLD = 0.5
SHIFTED_SHARE = 0.1


def shifted_features(current: pl.DataFrame, drifted: pl.DataFrame) -> set[str]:
    current, drifted = current.fill_nan(None), drifted.fill_nan(None)
    return {
        name
        for name in NAMES
        if current[name].ne_missing(drifted[name]).sum() >= SHIFTED_SHARE * max(current[name].count(), 1)
    }


def test_synth_drift_changes_features_built_from_the_drifted_columns(feature_sets: dict) -> None:
    shifted = shifted_features(feature_sets["current"], feature_sets["drifted"])
    raw_features = {f"app_{column.lower()}" for column in DRIFTED_COLUMNS["application_train"]}
    assert raw_features <= shifted
    assert 20 < len(shifted) < len(NAMES) / 4


def test_drifted_traffic_is_flagged_on_shifted_features_only(feature_sets: dict) -> None:
    shifted = shifted_features(feature_sets["current"], feature_sets["drifted"])
    result = compare(feature_sets["reference"], feature_sets["drifted"], list(NAMES), SHARE_THRESHOLD)
    tested = {f.feature for f in result.features}
    flagged = {f.feature for f in result.drifted}
    shifted_tested, others = shifted & tested, tested - shifted
    assert len(flagged & shifted_tested) >= 0.8 * len(shifted_tested), sorted(shifted_tested - flagged)
    assert len(flagged & others) <= 0.1 * len(others), sorted(flagged & others)


def test_undrifted_traffic_raises_no_dataset_drift(feature_sets: dict) -> None:
    result = compare(feature_sets["reference"], feature_sets["current"], list(NAMES), SHARE_THRESHOLD)
    assert not result.dataset_drift
    assert result.drift_share < 0.1
    assert len(result.features) > 500  # every feature with values on both sides was tested


def test_features_without_values_on_one_side_are_left_out() -> None:
    reference = pl.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": [None, None, None]}, schema={"a": pl.Float64, "b": pl.Float64}
    )
    result = compare(reference, reference, ["a", "b", "missing"], SHARE_THRESHOLD)
    assert [f.feature for f in result.features] == ["a"]
    assert not result.features[0].drifted


def test_score_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.beta(2, 12, 5000)
    assert score_psi(reference, rng.beta(2, 12, 5000)) < 0.02
    assert score_psi(reference, rng.beta(4, 8, 5000)) > 0.25
