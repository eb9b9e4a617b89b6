"""Business cost and threshold maths on cases small enough to check by hand."""

import numpy as np
import pytest

from services.model.cost import best_threshold, cost_curve, cost_per_application


def test_cost_counts_false_negatives_ten_times_false_positives() -> None:
    y = np.array([1, 1, 0, 0, 0])
    pd = np.array([0.9, 0.2, 0.8, 0.1, 0.1])
    # threshold 0.5 refuses rows 0 and 2: one missed default (row 1) and one refused good client (row 2)
    assert cost_per_application(y, pd, 0.5) == pytest.approx((10 + 1) / 5)


def test_cost_curve_matches_direct_cost_at_every_threshold() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    pd = np.round(rng.random(200), 2)  # rounding creates ties
    thresholds, costs = cost_curve(y, pd)
    for threshold, cost in zip(thresholds, costs, strict=True):
        assert cost == pytest.approx(cost_per_application(y, pd, threshold))


def test_best_threshold_refuses_when_one_default_outweighs_the_good_clients() -> None:
    # refusing at 0.4 catches the default and refuses one good client (0.6): cost 1, against 10 for
    # approving everyone; a higher threshold misses the default, a lower one refuses more good clients
    y = np.array([0, 0, 1, 0, 0])
    pd = np.array([0.1, 0.35, 0.4, 0.3, 0.6])
    best = best_threshold(y, pd)
    assert best.threshold == pytest.approx(0.4)
    assert best.cost_per_application == pytest.approx(1 / 5)


def test_best_threshold_approves_everyone_without_defaults() -> None:
    best = best_threshold(np.zeros(4, dtype=int), np.array([0.2, 0.5, 0.9, 0.1]))
    assert best.threshold > 1.0
    assert best.cost_per_application == 0.0
