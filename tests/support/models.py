"""Small models trained the way training does, fast to make: on planted data (the best achievable model is
known) for the scoring tests, on five catalog feature names for the explainer tests."""

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.model import ScoringModel
from services.model.policy import REVIEW_SHARE, InputProfile, ReviewBand
from services.training.dataset import TrainingSet

ROWS = 600
ROUNDS = 20
EXPLAINER_NAMES = (
    "app_ext_source_3",
    "app_ext_source_2",
    "app_days_birth",
    "app_flag_email",
    "app_name_income_type_code",
)


def planted_training_set(n: int, seed: int, signal: float = 1.0) -> TrainingSet:
    """Defaults driven by a non-linear function of the first features (others are noise), 10% missing.

    `signal=0` gives labels unrelated to the features: a model trained on it must be worse.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12))
    z = -2.5 + signal * (1.2 * x[:, 0] - 0.8 * x[:, 1] ** 2 + 1.0 * (x[:, 2] > 0.5) * x[:, 3])
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    x[rng.random(x.shape) < 0.1] = np.nan
    names = tuple(f"feature_{i}" for i in range(x.shape[1]))
    return TrainingSet(np.arange(100_000, 100_000 + n, dtype=np.int64), x, y, names, "planted-hash")


def small_model(seed: int, feature_set_hash: str) -> ScoringModel:
    """A LightGBM + isotonic calibrator on planted data; `seed` makes versions predict differently."""
    data = planted_training_set(ROWS, seed)
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": seed, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(data.x, data.y), num_boost_round=ROUNDS)
    raw = booster.predict(data.x)
    calibrator = fit_calibrator(raw, data.y)
    pd_values = calibrator.transform(raw)
    threshold = best_threshold(data.y, pd_values).threshold
    review = ReviewBand.around(pd_values, threshold, REVIEW_SHARE)
    profile = InputProfile.learn(data.x, data.names, set(), booster.feature_importance("gain"))
    return ScoringModel(booster, calibrator, threshold, data.names, feature_set_hash, review, profile)


def planted_rows(n: int, seed: int) -> list[dict[str, float | None]]:
    """Request rows (null for missing) with the planted feature names."""
    data = planted_training_set(n, seed)
    return [
        {name: None if np.isnan(v) else float(v) for name, v in zip(data.names, row, strict=True)}
        for row in data.x
    ]


@dataclass(frozen=True)
class SmallModel:
    """A model on the explainer's five catalog features, the rows it saw and its reference sample."""

    model: ScoringModel
    x: np.ndarray
    reference: pl.DataFrame


def explainer_model(rows: int = 3000, seed: int = 7) -> SmallModel:
    """Default risk falls with the external scores and age; some values missing, as in the real data."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([
        rng.uniform(0, 1, rows), rng.uniform(0, 1, rows), rng.uniform(-25_000, -7_000, rows),
        rng.integers(0, 2, rows), rng.integers(0, 8, rows),
    ]).astype(np.float64)  # fmt: skip
    z = -1.5 - 4 * (x[:, 0] - 0.5) - 2 * (x[:, 1] - 0.5) + 1e-4 * (x[:, 2] + 16_000) + 0.8 * (x[:, 4] == 2)
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    x[rng.random(rows) < 0.1, 0] = np.nan
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.1, "verbose": -1, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=list(EXPLAINER_NAMES)), num_boost_round=40)
    calibrator = fit_calibrator(booster.predict(x), y)
    pd_values = calibrator.transform(booster.predict(x))
    model = ScoringModel(
        booster, calibrator, float(np.quantile(pd_values, 0.7)), EXPLAINER_NAMES, "explainer-test"
    )
    reference = pl.DataFrame(x[:1000], schema=list(EXPLAINER_NAMES), orient="row").with_columns(
        pl.Series("SK_ID_CURR", np.arange(1000)),
        pl.Series("TARGET", y[:1000]),
        pl.Series("PD", pd_values[:1000]),
        pl.Series("DECISION", model.decide(pd_values[:1000])),
    )
    return SmallModel(model, x, reference)
