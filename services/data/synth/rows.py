"""Vectorised one-to-many helpers: how many child rows each parent gets, and which parent a row has."""

import numpy as np

# Dispersion of the per-client count distributions (negative binomial shape): real counts are skewed.
COUNT_SHAPE = 2.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def child_counts(
    rng: np.random.Generator, tilt: np.ndarray, zero_share: float, mean_if_any: float, tilt_weight: float
) -> np.ndarray:
    """Children per parent: none with `zero_share`, else 1 + negative binomial whose mean follows `tilt`."""
    scale = np.exp(tilt_weight * tilt - tilt_weight**2 / 2)
    extra_mean = (mean_if_any - 1.0) * scale
    extra = rng.negative_binomial(COUNT_SHAPE, COUNT_SHAPE / (COUNT_SHAPE + extra_mean))
    has_any = rng.random(len(tilt)) >= zero_share
    return np.where(has_any, 1 + extra, 0).astype(np.int64)


def owners(counts: np.ndarray) -> np.ndarray:
    """Parent index of each child row, children of one parent contiguous."""
    return np.repeat(np.arange(len(counts)), counts)


def rank_in_parent(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each parent's run of child rows."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def per_owner_sum(owner: np.ndarray, values: np.ndarray, n_owners: int) -> np.ndarray:
    return np.bincount(owner, weights=values, minlength=n_owners)


def per_owner_mean(owner: np.ndarray, values: np.ndarray, n_owners: int) -> np.ndarray:
    """Mean per owner; owners without rows get 0 (the neutral value for risk features)."""
    counts = np.bincount(owner, minlength=n_owners)
    return per_owner_sum(owner, values, n_owners) / np.maximum(counts, 1)


def per_owner_max(owner: np.ndarray, values: np.ndarray, n_owners: int) -> np.ndarray:
    out = np.zeros(n_owners)
    np.maximum.at(out, owner, values)
    return out
