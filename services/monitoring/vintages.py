"""Back-testing by vintage: decisions grouped by the month they were made (UTC), followed as outcomes arrive.

Per vintage: decisions, approval rate, mean PD, the estimated figures (estimation.py) and, once outcomes
settle its decisions, the realised default rate, AUC, Gini and KS (when both classes are known) and the
calibration of each PD band: observed default rate against the band's mean PD with the Jeffreys test
that supervisors use for PD back-testing. The Jeffreys posterior of a band with n settled decisions and
d defaults is Beta(d + 1/2, n - d + 1/2); its p-value is that posterior's probability that the true rate
is below the mean PD (small: the PD underestimates the risk), and the band's verdict says where the mean
PD falls against the posterior's central 95% interval.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

import numpy as np
import psycopg2.extensions
from scipy.stats import beta

from services.monitoring.approval import APPROVED
from services.monitoring.estimation import Estimate
from services.monitoring.performance import Realised, Scored

PD_BANDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
CONFIDENCE = 0.95

_DECISIONS = f"""
SELECT to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM') AS vintage, d.pd, {APPROVED}, o.defaulted
  FROM decision_log d LEFT JOIN outcomes o USING (request_id)
 WHERE d.decided_at >= %(since)s
 ORDER BY vintage
"""


@dataclass(frozen=True)
class Band:
    band: str  # "0.05-0.10": PDs from 0.05 (included) to 0.10
    settled: int
    defaults: int
    mean_pd: float
    observed_default_rate: float
    jeffreys_low: float
    jeffreys_high: float
    p_value: float
    verdict: str  # consistent | underestimates | overestimates


@dataclass(frozen=True)
class Vintage:
    vintage: str  # "2026-11"
    decisions: int
    approval_rate: float
    mean_pd: float
    realised: Realised
    gini: float | None
    estimated: Estimate
    bands: list[Band]


def jeffreys(settled: int, defaults: int, mean_pd: float) -> tuple[float, float, float, str]:
    """(interval low, interval high, one-sided p-value, verdict) of a band."""
    posterior = beta(defaults + 0.5, settled - defaults + 0.5)
    tail = (1.0 - CONFIDENCE) / 2
    low, high = float(posterior.ppf(tail)), float(posterior.ppf(1.0 - tail))
    verdict = "underestimates" if mean_pd < low else "overestimates" if mean_pd > high else "consistent"
    return low, high, float(posterior.cdf(mean_pd)), verdict


def bands(pd: np.ndarray, defaulted: np.ndarray) -> list[Band]:
    """Calibration of settled decisions per PD band (bands without settled decisions are left out)."""
    index = np.clip(np.searchsorted(PD_BANDS, pd, side="right") - 1, 0, len(PD_BANDS) - 2)
    found = []
    for b in np.unique(index):
        inside = index == b
        settled, defaults, mean_pd = int(inside.sum()), int(defaulted[inside].sum()), float(pd[inside].mean())
        found.append(
            Band(f"{PD_BANDS[b]:.2f}-{PD_BANDS[b + 1]:.2f}", settled, defaults, mean_pd, defaults / settled,
                 *jeffreys(settled, defaults, mean_pd))
        )  # fmt: skip
    return found


def vintage(name: str, scored: Scored) -> Vintage:
    performance = scored.performance()
    settled = ~np.isnan(scored.defaulted)
    auc = performance.realised.auc
    return Vintage(
        vintage=name,
        decisions=len(scored.pd),
        approval_rate=float(scored.approved.mean()),
        mean_pd=float(scored.pd.mean()),
        realised=performance.realised,
        gini=None if auc is None else 2 * auc - 1,
        estimated=performance.estimated,
        bands=bands(scored.pd[settled], scored.defaulted[settled] == 1.0),
    )


def first_of_month(now: datetime, months_back: int) -> datetime:
    """Midnight UTC on the first day of the month `months_back` months before `now`'s month."""
    month = now.year * 12 + now.month - 1 - months_back
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)


def vintages(conn: psycopg2.extensions.connection, since: datetime) -> list[Vintage]:
    """Every month with decisions since `since`, oldest first."""
    with conn.cursor() as cur:
        cur.execute(_DECISIONS, {"since": since})
        rows = cur.fetchall()
    return [
        vintage(name, Scored.from_rows([row[1:] for row in group]))
        for name, group in groupby(rows, key=lambda row: row[0])
    ]
