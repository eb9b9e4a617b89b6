"""Each gate on its own, on synthetic scores where the right answer is known."""

import numpy as np
import pytest

from services.model import gates
from services.model.gates import Champion, GateSettings, Scores, Status

SETTINGS = GateSettings(bootstrap_rounds=200)


def labelled(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a calibrated, informative PD for them."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    pd_values = 1 / (1 + np.exp(-(-2.2 + 1.5 * risk)))
    return (rng.random(n) < pd_values).astype(np.int64), pd_values


def scores(pd_values: np.ndarray, threshold: float = 0.3) -> Scores:
    return Scores(pd_values, threshold, np.where(pd_values >= threshold, "refused", "approved"))


def test_comparing_gates_are_not_applicable_without_a_champion_and_absolute_ones_still_judge() -> None:
    y, pd_values = labelled()
    nobody = Champion(None)
    assert gates.discrimination(y, scores(pd_values), nobody, SETTINGS).status == Status.NOT_APPLICABLE
    assert gates.score_stability(scores(pd_values), nobody, "rows", SETTINGS).status == Status.NOT_APPLICABLE
    assert (
        gates.changed_decisions(scores(pd_values), nobody, "rows", SETTINGS).status == Status.NOT_APPLICABLE
    )
    assert gates.calibration_error(y, scores(pd_values), SETTINGS).status == Status.PASS
    assert gates.calibration_in_the_large(y, scores(pd_values), SETTINGS).status == Status.PASS
    cost = gates.business_cost(y, scores(pd_values), nobody, SETTINGS)
    assert cost.status == Status.PASS  # beats approving everyone
    assert cost.figures["candidate_cost_per_app"] < cost.figures["approve_all_cost_per_app"]


def test_paired_bootstrap_interval_separates_a_noisier_model_and_centres_on_an_equal_one() -> None:
    y, good = labelled()
    noisy = np.clip(good + np.random.default_rng(1).normal(0, 0.25, len(good)), 0, 1)
    worse = gates.discrimination(y, scores(noisy), Champion("1", scores(good), scores(good)), SETTINGS)
    assert worse.status == Status.FAIL
    assert worse.figures["auc_difference_ci_high"] < 0
    assert worse.figures["gini_difference_ci_low"] == pytest.approx(
        2 * worse.figures["auc_difference_ci_low"]
    )
    same = gates.discrimination(y, scores(good), Champion("1", scores(good), scores(good)), SETTINGS)
    assert same.status == Status.PASS
    assert same.figures["auc_difference_ci_low"] == same.figures["auc_difference_ci_high"] == 0


def test_miscalibrated_pds_fail_both_calibration_gates() -> None:
    y, pd_values = labelled()
    inflated = scores(np.clip(pd_values * 1.8, 0, 1))
    assert gates.calibration_error(y, inflated, SETTINGS).status == Status.FAIL
    large = gates.calibration_in_the_large(y, inflated, SETTINGS)
    assert large.status == Status.FAIL
    assert large.figures["gap"] > SETTINGS.max_calibration_gap


def test_four_fifths_rule_flags_a_group_approved_far_less_and_skips_small_or_missing_groups() -> None:
    rng = np.random.default_rng(2)
    groups = np.array(["F"] * 500 + ["M"] * 500 + ["missing"] * 100 + ["XNA"] * 10, dtype=object)
    pd_values = np.r_[rng.uniform(0, 0.35, 500), rng.uniform(0, 0.6, 500), rng.uniform(0.5, 1, 110)]
    result = gates.approval_ratio("gender", groups, scores(pd_values), SETTINGS)
    assert result.status == Status.FAIL  # M approved ~50 % vs F ~86 %: ratio ~0.58
    assert result.figures["min_ratio"] == pytest.approx(0.58, abs=0.06)
    assert not any(label.startswith("missing") for label in result.figures)  # left out
    fair = gates.approval_ratio(
        "gender", groups, scores(np.r_[pd_values[:500], pd_values[:500], pd_values[:110]]), SETTINGS
    )
    assert fair.status == Status.PASS  # XNA (10 rows) is shown but not judged
    absent = gates.approval_ratio("age_band", None, scores(pd_values), SETTINGS)
    assert absent.status == Status.NOT_APPLICABLE and "age_band" in absent.reason


def test_a_small_groups_shortfall_within_chance_passes_and_a_clear_one_fails() -> None:
    """The demo's first model: 33 applicants under 25 approved 23 times (0.697) against 0.876 for 55+
    (ratio 0.796, z ~ -0.04) passes; 330 approved 0.6 against 0.876 (ratio 0.685) is beyond chance."""
    for (young, young_rate, ratio), expected in (
        ((33, 0.697, 0.796), Status.PASS),
        ((330, 0.6, 0.685), Status.FAIL),
    ):
        old = 322 if young == 33 else 3220
        groups = np.array(["<25"] * young + ["55+"] * old, dtype=object)
        approved_young, approved_old = round(young_rate * young), round(0.8758 * old)
        pd_values = np.r_[
            np.full(approved_young, 0.01), np.full(young - approved_young, 0.99),
            np.full(approved_old, 0.01), np.full(old - approved_old, 0.99),
        ]  # fmt: skip
        result = gates.approval_ratio("age_band", groups, scores(pd_values), SETTINGS, ("<25", "55+"))
        assert result.figures["min_ratio"] == pytest.approx(ratio, abs=0.003)
        assert result.status == expected, result.figures


def test_stability_and_changed_decisions_compare_the_same_traffic() -> None:
    _, pd_values = labelled()
    shifted = scores(np.clip(pd_values * 2.5, 0, 1))
    champion = Champion("1", scores(pd_values), scores(pd_values))
    assert gates.score_stability(scores(pd_values), champion, "rows", SETTINGS).figures["psi"] == 0
    unstable = gates.score_stability(shifted, champion, "rows", SETTINGS)
    assert unstable.status == Status.FAIL and unstable.figures["psi"] > SETTINGS.max_psi
    changed = gates.changed_decisions(shifted, champion, "rows", SETTINGS)
    expected = np.mean(shifted.outcome != champion.traffic.outcome)
    assert changed.figures["changed_share"] == pytest.approx(expected)
    assert changed.status == (Status.PASS if expected <= SETTINGS.max_changed_share else Status.FAIL)


def test_a_champion_that_cannot_be_scored_fails_every_comparing_gate_with_the_reason() -> None:
    y, pd_values = labelled()
    broken = Champion("3", unusable="champion version 3 cannot be loaded (gone)")
    for result in (
        gates.discrimination(y, scores(pd_values), broken, SETTINGS),
        gates.business_cost(y, scores(pd_values), broken, SETTINGS),
        gates.score_stability(scores(pd_values), broken, "rows", SETTINGS),
        gates.changed_decisions(scores(pd_values), broken, "rows", SETTINGS),
    ):
        assert result.status == Status.FAIL
        assert "cannot be loaded" in result.reason


def test_settings_come_from_the_environment_and_refuse_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATES_MAX_PSI", "0.1")
    assert GateSettings().max_psi == 0.1
    with pytest.raises(ValueError, match="not_a_gate"):
        GateSettings(not_a_gate=1)
