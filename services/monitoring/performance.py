"""Realised and estimated performance of logged decisions: default rate, AUC, KS and business cost.

Realised figures count the decisions that an outcome has settled, each once (an outcome settles one
decision, see outcomes.py); estimated ones (estimation.py) count every decision, labelled or not. Cost
uses the training cost matrix: an approved client who defaults costs 10, a refused client who would have
repaid costs 1 (approval.py says which decisions are approved).
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg2.extensions
from sklearn.metrics import roc_auc_score

from services.model.cost import FALSE_NEGATIVE_COST, FALSE_POSITIVE_COST
from services.model.evaluation import ks_statistic
from services.monitoring.approval import APPROVED
from services.monitoring.estimation import Estimate, estimate

_DECISIONS = f"""
SELECT d.pd, {APPROVED}, o.defaulted
  FROM decision_log d LEFT JOIN outcomes o USING (request_id)
 WHERE d.decided_at >= %(since)s
"""


@dataclass(frozen=True)
class Realised:
    with_outcome: int
    default_rate: float | None
    auc: float | None  # None until both defaulters and repayers are known
    ks: float | None
    cost: float | None
    cost_per_decision: float | None


@dataclass(frozen=True)
class Performance:
    decisions: int
    realised: Realised
    estimated: Estimate


@dataclass(frozen=True)
class Scored:
    """Decisions as aligned arrays: PD, approved, and the outcome (NaN while unsettled)."""

    pd: np.ndarray
    approved: np.ndarray
    defaulted: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[float, bool, bool | None]]) -> "Scored":
        if not rows:
            return cls(np.empty(0), np.empty(0, bool), np.empty(0))
        pd, approved, defaulted = zip(*rows, strict=True)
        outcome = np.array([np.nan if d is None else float(d) for d in defaulted])
        return cls(np.asarray(pd, float), np.asarray(approved, bool), outcome)

    def performance(self) -> Performance:
        settled = ~np.isnan(self.defaulted)
        found = realised(self.pd[settled], self.approved[settled], self.defaulted[settled] == 1.0)
        return Performance(len(self.pd), found, estimate(self.pd, self.approved))


def realised(pd: np.ndarray, approved: np.ndarray, defaulted: np.ndarray) -> Realised:
    """Metrics of settled decisions (aligned arrays, one entry per decision)."""
    if len(pd) == 0:
        return Realised(0, None, None, None, None, None)
    false_negatives = np.sum(approved & defaulted)
    false_positives = np.sum(~approved & ~defaulted)
    cost = float(FALSE_NEGATIVE_COST * false_negatives + FALSE_POSITIVE_COST * false_positives)
    both_classes = 0 < defaulted.sum() < len(defaulted)
    return Realised(
        with_outcome=len(pd),
        default_rate=float(defaulted.mean()),
        auc=float(roc_auc_score(defaulted, pd)) if both_classes else None,
        ks=ks_statistic(defaulted, pd) if both_classes else None,
        cost=cost,
        cost_per_decision=cost / len(pd),
    )


def window_performance(conn: psycopg2.extensions.connection, since: datetime) -> Performance:
    with conn.cursor() as cur:
        cur.execute(_DECISIONS, {"since": since})
        return Scored.from_rows(cur.fetchall()).performance()
