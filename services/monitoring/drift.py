"""Data drift between a model version's reference sample and a window of logged decisions.

Each feature gets Evidently's own drift test, chosen the way Evidently's DataDriftPreset chooses it
(by column type and sample size: Wasserstein distance or Jensen-Shannon above 1,000 rows, K-S / chi-square
/ Z below), called directly rather than through a Report: a Report renders every column and needs
minutes for ~750 features, the bare tests take seconds. The HTML report (see report.py) is drawn with
Evidently's Report for the most drifted features only. The score distribution is compared with PSI.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
from threadpoolctl import threadpool_limits

from services.feature_definitions.catalog import KINDS
from services.model.stability import score_psi

# Evidently tests whose score is a distance (drift when score >= threshold); the others return p-values.
DISTANCE_TESTS = frozenset({"wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "TVD"})


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    stattest: str
    score: float
    threshold: float
    drifted: bool

    @property
    def severity(self) -> float:
        """Score relative to its threshold, oriented so that above 1 means drifted, whatever the test."""
        if self.stattest in DISTANCE_TESTS:
            return self.score / self.threshold
        return self.threshold / max(self.score, 1e-12)


@dataclass(frozen=True)
class DriftResult:
    features: list[FeatureDrift]  # most drifted first (by severity)
    drift_share: float
    dataset_drift: bool
    score_psi: float | None

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]


def column_type(feature: str) -> ColumnType:
    """Category codes and flags are categorical; everything else (and unknown names) numerical."""
    return (
        ColumnType.Numerical if KINDS.get(feature, "continuous") == "continuous" else ColumnType.Categorical
    )


def feature_drift(feature: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    """Evidently's default test for this column; missing values are left out, as Evidently does."""
    kind = column_type(feature)
    test = get_stattest(reference, current, kind, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # chi-square on categories absent from one side
        result = test(reference, current, kind, None)
    return FeatureDrift(
        feature=feature,
        stattest=test.name,
        score=float(result.drift_score),
        threshold=float(result.actual_threshold),
        drifted=bool(result.drifted),
    )


def testable_features(reference: pl.DataFrame, current: pl.DataFrame, features: list[str]) -> list[str]:
    """Features present in both frames with at least one known value on each side."""
    return [
        f
        for f in features
        if f in reference.columns
        and f in current.columns
        and reference[f].drop_nulls().len() > 0
        and current[f].drop_nulls().len() > 0
    ]


def compare(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: list[str],
    share_threshold: float,
    reference_pd: np.ndarray | None = None,
    current_pd: np.ndarray | None = None,
) -> DriftResult:
    """Test every testable feature; the dataset drifts when the drifted share reaches `share_threshold`."""
    tested = testable_features(reference, current, features)
    if not tested:
        raise ValueError("no feature has values in both the reference sample and the window")
    ref = reference.select(tested).fill_nan(None).to_pandas()
    cur = current.select(tested).fill_nan(None).to_pandas()
    # Each test is a small vector operation: a multi-threaded BLAS spends 1000x longer starting threads.
    with threadpool_limits(limits=1, user_api="blas"):
        results = [feature_drift(f, ref[f].dropna(), cur[f].dropna()) for f in tested]
    results.sort(key=lambda r: r.severity, reverse=True)
    share = sum(r.drifted for r in results) / len(results)
    psi = None
    if reference_pd is not None and current_pd is not None and len(reference_pd) and len(current_pd):
        psi = score_psi(reference_pd, current_pd)
    return DriftResult(results, share, share >= share_threshold, psi)
