"""Business cost of decisions: granting a loan that defaults (false negative) costs 10, refusing a good
client (false positive) costs 1. The decision threshold is the PD above which an application is refused."""

from dataclasses import dataclass

import numpy as np

FALSE_NEGATIVE_COST = 10.0
FALSE_POSITIVE_COST = 1.0


@dataclass(frozen=True)
class CostPoint:
    threshold: float
    cost_per_application: float


def cost_per_application(y_true: np.ndarray, pd: np.ndarray, threshold: float) -> float:
    """Mean cost when every application with PD >= threshold is refused."""
    refused = pd >= threshold
    false_negatives = np.sum(~refused & (y_true == 1))
    false_positives = np.sum(refused & (y_true == 0))
    return float(
        (FALSE_NEGATIVE_COST * false_negatives + FALSE_POSITIVE_COST * false_positives) / len(y_true)
    )


def cost_curve(y_true: np.ndarray, pd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost per application at every distinct PD used as threshold (plus 'refuse nobody'), in one sort.

    Refusing at threshold t means refusing every score >= t, so sorting scores in decreasing order turns
    the counts of refused defaulters and refused good clients into cumulative sums.
    """
    order = np.argsort(-pd, kind="stable")
    scores = pd[order]
    defaults = (y_true[order] == 1).astype(np.int64)
    refused_bad = np.cumsum(defaults)
    refused_good = np.cumsum(1 - defaults)
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]
    thresholds = np.r_[scores[last_of_tie], np.inf]
    false_negatives = defaults.sum() - np.r_[refused_bad[last_of_tie], 0]
    false_positives = np.r_[refused_good[last_of_tie], 0]
    costs = (FALSE_NEGATIVE_COST * false_negatives + FALSE_POSITIVE_COST * false_positives) / len(y_true)
    return thresholds, costs


def best_threshold(y_true: np.ndarray, pd: np.ndarray) -> CostPoint:
    """The threshold with the lowest cost; ties go to the highest threshold (approve more)."""
    thresholds, costs = cost_curve(y_true, pd)
    lowest = np.flatnonzero(costs == costs.min())
    best = lowest[np.argmax(thresholds[lowest])]
    threshold = float(thresholds[best]) if np.isfinite(thresholds[best]) else 1.0 + 1e-9
    return CostPoint(threshold=threshold, cost_per_application=float(costs[best]))
