"""The decision policy stored with a model: review band edges and share, unusual inputs, points, grades."""

import math

import numpy as np
import pytest

from services.model.policy import InputProfile, ReviewBand, RiskScale, outcomes


def test_the_band_holds_the_share_nearest_the_threshold() -> None:
    pd_values = np.random.default_rng(0).beta(1, 9, 10_000)
    band = ReviewBand.around(pd_values, 0.12, 0.10)
    assert band.low < 0.12 < band.high
    assert band.high - 0.12 == pytest.approx(0.12 - band.low)
    assert band.share == pytest.approx(0.10, abs=0.001)
    nearest = np.argsort(np.abs(pd_values - 0.12))[:1000]
    assert band.holds(pd_values[nearest]).all()


def test_band_edges_decide_approved_review_refused() -> None:
    band = ReviewBand(low=0.08, high=0.16, share=0.1)
    pd_values = np.array([0.0799, 0.08, 0.12, 0.1599, 0.16, 0.5])
    decided = outcomes(pd_values, 0.12, band, np.zeros(6, dtype=bool))
    assert decided.tolist() == ["approved", "review", "review", "review", "refused", "refused"]


def test_no_share_means_no_band_and_unusual_inputs_go_to_review() -> None:
    band = ReviewBand.around(np.array([0.1, 0.2, 0.3]), 0.2, 0.0)
    assert (band.low, band.high, band.share) == (0.2, 0.2, 0.0)
    unusual = np.array([False, False, True])
    assert outcomes(np.array([0.1, 0.2, 0.01]), 0.2, band, unusual).tolist() == [
        "approved",
        "refused",
        "review",
    ]


def test_points_double_the_odds_every_pdo_and_grades_follow_the_master_scale() -> None:
    scale = RiskScale()
    at_anchor = 1 / (1 + scale.anchor_odds)  # odds 50:1 good:bad
    assert scale.points(at_anchor) == 600
    doubled = 1 / (1 + 2 * scale.anchor_odds)
    assert scale.points(doubled) == 620
    assert scale.points(0.9) < scale.points(0.1) < scale.points(0.01)
    assert [scale.grade(p) for p in (0.0, 0.0099, 0.01, 0.05, 0.31, 0.99, 1.0)] == [
        "A", "A", "B", "D", "F", "G", "G",
    ]  # fmt: skip


def test_profile_flags_out_of_range_unseen_category_and_thin_inputs() -> None:
    x = np.array([[0.1, 0.0, 5.0], [0.9, 1.0, 7.0], [0.5, 1.0, math.nan]])
    gain = np.array([3.0, 2.0, 1.0])
    profile = InputProfile.learn(x, ["score", "kind_code", "count"], {"kind_code"}, gain)
    assert profile.ranges == {"score": (0.1, 0.9), "count": (5.0, 7.0)}
    assert profile.categories == {"kind_code": (0.0, 1.0)}
    assert profile.warnings({"score": 0.5, "kind_code": 1.0, "count": None}) == []
    found = profile.warnings({"score": 1.5, "kind_code": 2.0, "count": 6.0})
    assert [(w.field, w.value) for w in found] == [("score", 1.5), ("kind_code", 2.0)]
    assert "training range [0.1, 0.9]" in found[0].unusual
    thin = profile.warnings({"score": None, "kind_code": None, "count": 6.0})
    assert [w.field for w in thin] == ["inputs"]
    assert InputProfile.from_json(profile.to_json()) == profile


def test_unused_features_are_not_profiled() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    profile = InputProfile.learn(x, ["used", "unused"], set(), np.array([1.0, 0.0]))
    assert set(profile.ranges) == {"used"}
    assert profile.warnings({"used": 2.0, "unused": 99.0}) == []


def test_whole_column_flags_agree_with_the_per_row_warnings() -> None:
    """Batch scoring and explanations flag unusual rows on whole columns, the API in words per row: one
    rule, so the same row gets the same decision on every path."""
    rng = np.random.default_rng(7)
    names = [f"f{i}" for i in range(8)]
    train = rng.normal(size=(400, 8))
    train[:, 3] = rng.integers(0, 4, 400)
    profile = InputProfile.learn(train, names, {"f3"}, np.arange(8, 0, -1, dtype=float))
    rows = rng.normal(scale=2.0, size=(2_000, 8))
    rows[:, 3] = rng.integers(0, 6, 2_000)
    rows[rng.random(rows.shape) < 0.3] = math.nan
    per_row = [bool(profile.warnings(dict(zip(names, row.tolist(), strict=True)))) for row in rows]
    flags = profile.unusual_rows(rows, names)
    assert flags.tolist() == per_row
    assert 0 < flags.sum() < len(rows)
