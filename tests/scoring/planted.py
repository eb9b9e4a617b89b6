"""Training data with planted signal, as arrays: fast to make, and the best achievable model is known."""

import numpy as np

from services.training.dataset import TrainingSet


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
