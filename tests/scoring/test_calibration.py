"""Calibration turns distorted scores into PDs with a lower expected calibration error."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from services.model.calibration import Calibrator, expected_calibration_error, fit_calibrator


def distorted_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from true PDs; the scores are sqrt(PD): right order, much too high."""
    rng = np.random.default_rng(seed)
    true_pd = rng.beta(1, 10, n)
    y = (rng.random(n) < true_pd).astype(np.int64)
    return np.sqrt(true_pd), y


def test_calibration_lowers_ece_on_unseen_rows_and_keeps_ranking() -> None:
    scores, y = distorted_scores(20_000, seed=1)
    fit_scores, fit_y, new_scores, new_y = scores[:10_000], y[:10_000], scores[10_000:], y[10_000:]
    calibrator = fit_calibrator(fit_scores, fit_y)
    calibrated = calibrator.transform(new_scores)
    assert expected_calibration_error(new_y, calibrated) < expected_calibration_error(new_y, new_scores) / 5
    assert roc_auc_score(new_y, calibrated) == pytest.approx(roc_auc_score(new_y, new_scores), abs=0.002)


def test_calibrator_round_trips_through_json(tmp_path: Path) -> None:
    scores, y = distorted_scores(2_000, seed=2)
    calibrator = fit_calibrator(scores, y)
    calibrator.save(tmp_path / "calibrator.json")
    loaded = Calibrator.load(tmp_path / "calibrator.json")
    np.testing.assert_array_equal(loaded.transform(scores), calibrator.transform(scores))


def test_ece_is_zero_for_perfect_bins_and_large_for_wrong_ones() -> None:
    y = np.array([0, 0, 0, 1] * 25)
    assert expected_calibration_error(y, np.full(100, 0.25), bins=1) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.75), bins=1) == pytest.approx(0.5)
