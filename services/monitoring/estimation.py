"""Performance before labels arrive: confidence-based estimation (CBPE) from calibrated PDs.

Defaults are known months after a decision. If the PDs are calibrated, decision i defaults with
probability p_i, so the expected confusion matrix of a window follows from its PDs alone: an approved
decision is an expected defaulter p_i times, a refused one an expected repayer 1 - p_i times. The expected
AUC is the probability-weighted pair count: every ordered pair (i, j) is a (defaulter, repayer) pair with
weight p_i (1 - p_j), ranked right when p_i > p_j (ties count one half), so

    AUC ≈ Σ_{i≠j} p_i (1 - p_j) [p_i > p_j] / Σ_{i≠j} p_i (1 - p_j).

This is NannyML's CBPE for a binary classifier whose score is its probability (NannyML itself pins
lightgbm < 4.6, which our pins exclude). It stays right under covariate shift (the applicants change, the
risk of a given applicant does not) and goes wrong when the PDs stop being calibrated, which realised
figures and the vintage calibration tests catch once labels exist.
"""

from dataclasses import dataclass

import numpy as np

from services.model.cost import FALSE_NEGATIVE_COST, FALSE_POSITIVE_COST


@dataclass(frozen=True)
class Estimate:
    decisions: int
    default_rate: float | None
    auc: float | None
    cost: float | None
    cost_per_decision: float | None


def expected_auc(pd: np.ndarray) -> float | None:
    """The probability-weighted pair count in O(n log n): sort once, sum repayer weight below each PD."""
    if len(pd) < 2:
        return None
    _, inverse = np.unique(pd, return_inverse=True)
    defaults = np.bincount(inverse, weights=pd)  # expected defaulters per distinct PD
    repays = np.bincount(inverse, weights=1.0 - pd)  # expected repayers per distinct PD
    below = np.concatenate(([0.0], np.cumsum(repays)[:-1]))  # repayer weight at strictly lower PDs
    own = np.bincount(inverse, weights=pd * (1.0 - pd))  # i = j terms, inside the ties' weight
    ranked = np.sum(defaults * below) + 0.5 * np.sum(defaults * repays - own)
    total = pd.sum() * (1.0 - pd).sum() - np.sum(pd * (1.0 - pd))
    return float(ranked / total) if total > 0 else None


def estimate(pd: np.ndarray, approved: np.ndarray) -> Estimate:
    """Expected default rate, AUC and business cost of decisions with PDs `pd` (aligned `approved`)."""
    if len(pd) == 0:
        return Estimate(0, None, None, None, None)
    cost = float(FALSE_NEGATIVE_COST * pd[approved].sum() + FALSE_POSITIVE_COST * (1.0 - pd[~approved]).sum())
    return Estimate(
        decisions=len(pd),
        default_rate=float(pd.mean()),
        auc=expected_auc(pd),
        cost=cost,
        cost_per_decision=cost / len(pd),
    )
