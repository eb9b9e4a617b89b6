"""Where a client stands among others: one feature's histogram over the labelled clients, by outcome.

The population is the materialised vectors of the current feature set joined to application_train's
TARGET, i.e. what a model is trained on. Postgres extracts the one array element, so a scan moves two
numbers per client; the result is cached per feature until the feature set is rebuilt.
"""

import threading
from datetime import datetime

import numpy as np
import psycopg2.extensions

from services.contracts.features import DistributionBin, FeatureDistribution, OutcomeCounts
from services.feature_definitions.catalog import DESCRIPTIONS, FEATURE_SET_HASH, KINDS, NAMES
from services.feature_store.store import FeatureSetNotBuilt

BINS = 20  # also the most distinct values shown one bin each
TAIL = 0.01  # equal-width bins span the 1st..99th percentile; the end bins take the tails


class UnknownFeature(LookupError):
    """No feature of that name in the current feature set."""


class DistributionCache:
    """Distributions of the current feature set, computed once per feature, dropped when it is rebuilt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built_at: datetime | None = None
        self._by_name: dict[str, FeatureDistribution] = {}

    def get(self, conn: psycopg2.extensions.connection, name: str) -> FeatureDistribution:
        if name not in KINDS:
            raise UnknownFeature(name)
        built_at = _built_at(conn)
        with self._lock:
            if built_at != self._built_at:
                self._built_at, self._by_name = built_at, {}
            found = self._by_name.get(name)
        if found is None:
            found = compute(conn, name)
            with self._lock:
                if built_at == self._built_at:
                    self._by_name[name] = found
        return found


def _built_at(conn: psycopg2.extensions.connection) -> datetime:
    with conn.cursor() as cur:
        cur.execute("SELECT built_at FROM feature_sets WHERE feature_set_hash = %s", (FEATURE_SET_HASH,))
        found = cur.fetchone()
    if found is None:
        raise FeatureSetNotBuilt(f"feature set {FEATURE_SET_HASH} is not built; run `credit features build`")
    return found[0]


def compute(conn: psycopg2.extensions.connection, name: str) -> FeatureDistribution:
    """Scan the labelled clients' values of `name` (a catalog feature) and bin them."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT f.vals[%s], t.target FROM feature_values f"
            " JOIN application_train t ON t.sk_id_curr = f.sk_id_curr"
            " WHERE f.feature_set_hash = %s AND t.target IS NOT NULL",
            (NAMES.index(name) + 1, FEATURE_SET_HASH),
        )
        rows = cur.fetchall()
    pairs = np.array(rows, dtype=np.float64).reshape(-1, 2)
    values, defaulted = pairs[:, 0], pairs[:, 1] == 1
    known = np.isfinite(values)
    return FeatureDistribution(
        feature=name,
        description=DESCRIPTIONS[name],
        kind=KINDS[name],
        feature_set_hash=FEATURE_SET_HASH,
        clients=_counts(defaulted),
        missing=_counts(defaulted[~known]),
        bins=histogram(values[known], defaulted[known]),
    )


def histogram(values: np.ndarray, defaulted: np.ndarray) -> list[DistributionBin]:
    """Bins of known values: one per value when few are distinct, else equal-width with stretched ends."""
    distinct = np.unique(values)
    if distinct.size <= BINS:
        lowers, uppers = distinct, distinct
        index = np.searchsorted(distinct, values)
    else:
        low, high = np.quantile(values, [TAIL, 1 - TAIL])
        if low == high:
            low, high = distinct[0], distinct[-1]
        inner = np.linspace(low, high, BINS + 1)[1:-1]
        lowers, uppers = np.r_[distinct[0], inner], np.r_[inner, distinct[-1]]
        index = np.searchsorted(inner, values, side="right")
    repaid = np.bincount(index[~defaulted], minlength=lowers.size)
    bad = np.bincount(index[defaulted], minlength=lowers.size)
    return [
        DistributionBin(lower=lo, upper=up, repaid=r, defaulted=d)
        for lo, up, r, d in zip(lowers.tolist(), uppers.tolist(), repaid.tolist(), bad.tolist(), strict=True)
    ]


def _counts(defaulted: np.ndarray) -> OutcomeCounts:
    bad = int(defaulted.sum())
    return OutcomeCounts(repaid=defaulted.size - bad, defaulted=bad)
