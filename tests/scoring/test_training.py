"""The training recipe on planted-signal arrays: it beats the baselines and reports every candidate."""

from typing import Any

import numpy as np
import pytest

from scoring.planted import planted_training_set
from services.scoring.dataset import TrainingDataError, check_training_set
from services.scoring.pipeline import train
from services.scoring.training import TrainingConfig, cross_validate


def test_lightgbm_beats_baselines_on_planted_signal() -> None:
    data = planted_training_set(6000, seed=7)
    candidates: dict[str, dict[str, float]] = {}

    def record(name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        candidates[name] = metrics

    trained = train(data, TrainingConfig(trials=1, folds=3, threads=1), record)
    assert set(candidates) == {
        "baseline-dummy", "baseline-logistic_regression", "imbalance-none", "imbalance-is_unbalance",
        "imbalance-scale_pos_weight_sqrt", "trial-1",
    }  # fmt: skip
    assert candidates["baseline-dummy"]["roc_auc"] == pytest.approx(0.5, abs=0.01)
    assert trained.validation["roc_auc"] > candidates["baseline-logistic_regression"]["roc_auc"] + 0.03
    assert trained.test["roc_auc"] > candidates["baseline-logistic_regression"]["roc_auc"] + 0.03
    assert trained.validation["cost_per_app"] < candidates["baseline-logistic_regression"]["cost_per_app"]
    assert 0.0 < trained.model.threshold < 1.0
    assert len(trained.test_ids) == 1200


def test_cross_validation_scores_every_row_out_of_fold() -> None:
    data = planted_training_set(1500, seed=3)
    result = cross_validate(data.x, data.y, {}, TrainingConfig(folds=3, threads=1))
    assert result.oof.shape == (1500,)
    assert np.all((result.oof > 0) & (result.oof < 1))
    assert len(result.best_iterations) == 3
    assert result.auc > 0.65


@pytest.mark.parametrize(
    ("y", "reason"),
    [
        (np.zeros(500, dtype=np.int64), "0 ones"),
        (np.array([0, 1] * 50, dtype=np.int64), "only 100 labelled clients"),
        (np.array([0, 1, 2] * 100, dtype=np.int64), "TARGET must be 0 or 1"),
    ],
)
def test_training_set_checks_name_the_problem(y: np.ndarray, reason: str) -> None:
    with pytest.raises(TrainingDataError, match=reason):
        check_training_set(y)
