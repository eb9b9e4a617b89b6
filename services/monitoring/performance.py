"""Realised performance once outcomes arrive: default rate, AUC and business cost of logged decisions.

An outcome counts for the decision with its request id, or, when no decision has that id (the gateway
sends the id of the outcomes request), for every decision of its client. Cost uses
the training cost matrix: an approved client who defaults costs 10, a refused client who would have
repaid costs 1.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg2.extensions
from sklearn.metrics import roc_auc_score

from services.scoring.cost import FALSE_NEGATIVE_COST, FALSE_POSITIVE_COST

_MATCHED = """
SELECT d.pd, d.decision = 'approved', o.defaulted
  FROM outcomes o JOIN decision_log d ON d.request_id = o.request_id
 WHERE d.decided_at >= %(since)s
UNION ALL
SELECT d.pd, d.decision = 'approved', o.defaulted
  FROM outcomes o JOIN decision_log d ON d.client_id = o.client_id
 WHERE d.decided_at >= %(since)s
   AND NOT EXISTS (SELECT 1 FROM decision_log x WHERE x.request_id = o.request_id)
"""


@dataclass(frozen=True)
class Performance:
    decisions: int
    with_outcome: int
    default_rate: float | None
    auc: float | None  # None until both defaulters and repayers are known
    cost: float | None
    cost_per_decision: float | None


def realised(pd: np.ndarray, approved: np.ndarray, defaulted: np.ndarray, decisions: int) -> Performance:
    """Metrics of decisions with a known outcome (arrays aligned: one entry per matched decision)."""
    if len(pd) == 0:
        return Performance(decisions, 0, None, None, None, None)
    false_negatives = np.sum(approved & defaulted)
    false_positives = np.sum(~approved & ~defaulted)
    cost = float(FALSE_NEGATIVE_COST * false_negatives + FALSE_POSITIVE_COST * false_positives)
    both_classes = 0 < defaulted.sum() < len(defaulted)
    return Performance(
        decisions=decisions,
        with_outcome=len(pd),
        default_rate=float(defaulted.mean()),
        auc=float(roc_auc_score(defaulted, pd)) if both_classes else None,
        cost=cost,
        cost_per_decision=cost / len(pd),
    )


def window_performance(conn: psycopg2.extensions.connection, since: datetime) -> Performance:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM decision_log WHERE decided_at >= %s", (since,))
        decisions = int(cur.fetchone()[0])
        cur.execute(_MATCHED, {"since": since})
        rows = cur.fetchall()
    if not rows:
        return realised(np.empty(0), np.empty(0, bool), np.empty(0, bool), decisions)
    pd, approved, defaulted = (np.array(column) for column in zip(*rows, strict=True))
    return realised(pd.astype(float), approved.astype(bool), defaulted.astype(bool), decisions)
