"""Score stability: how far a distribution of PDs moved from a reference one (population stability
index). The promotion gates compare a candidate with the champion on recent traffic; monitoring compares
the window's PDs with the training reference."""

import numpy as np

PSI_BINS = 10
PSI_FLOOR = 1e-4  # empty bins would make PSI infinite


def score_psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of PD over the reference's decile bins (> 0.25 is a large shift)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(current, edges)[0] / len(current)
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))
