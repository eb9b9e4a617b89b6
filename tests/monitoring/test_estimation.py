"""CBPE: the expected AUC against its closed form and against labels drawn from the PDs, the expected
cost and default rate against the same simulation."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from services.monitoring.estimation import estimate, expected_auc


def test_expected_auc_is_the_probability_weighted_pair_count() -> None:
    # Pairs (i defaulter, j repayer), weight p_i (1 - p_j): (0.4, 0.1) .4*.9, (0.8, 0.1) .8*.9, (0.8, 0.4)
    # .8*.6 ranked right; (0.1, 0.4) .1*.6, (0.1, 0.8) .1*.2, (0.4, 0.8) .4*.2 ranked wrong.
    right, wrong = 0.36 + 0.72 + 0.48, 0.06 + 0.02 + 0.08
    assert expected_auc(np.array([0.1, 0.4, 0.8])) == pytest.approx(right / (right + wrong))
    # A tie counts one half either way: two equal PDs are a coin toss.
    assert expected_auc(np.array([0.3, 0.3])) == pytest.approx(0.5)
    assert expected_auc(np.array([0.2])) is None


def test_estimates_match_labels_drawn_from_calibrated_pds() -> None:
    rng = np.random.default_rng(3)
    pd = rng.beta(1.2, 9.0, 4000)
    approved = pd < 0.2
    found = estimate(pd, approved)
    aucs, rates, costs = [], [], []
    for _ in range(200):  # the PDs are the truth: each decision defaults with its PD
        defaulted = rng.random(len(pd)) < pd
        aucs.append(roc_auc_score(defaulted, pd))
        rates.append(defaulted.mean())
        costs.append(10 * np.sum(approved & defaulted) + np.sum(~approved & ~defaulted))
    assert found.decisions == 4000
    assert found.auc == pytest.approx(np.mean(aucs), abs=0.003)
    assert found.default_rate == pytest.approx(np.mean(rates), abs=0.002)
    assert found.cost == pytest.approx(np.mean(costs), rel=0.01)
    assert found.cost_per_decision == pytest.approx(found.cost / 4000)


def test_no_decision_estimates_nothing() -> None:
    found = estimate(np.empty(0), np.empty(0, bool))
    assert (found.decisions, found.auc, found.default_rate, found.cost) == (0, None, None, None)
