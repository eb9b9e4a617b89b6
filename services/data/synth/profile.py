"""The real sample's profile (built by scripts/build_synth_profile.py) and draws that follow it.

Columns are drawn from uniforms the caller provides, so related columns can share a uniform (the same
building's AVG/MODE/MEDI, nested missingness of a block) and risk can be planted through a copula.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import ndtr

PROFILE_PATH = Path(__file__).with_name("profile.json")
SENTINEL = 365243.0


@dataclass(frozen=True)
class Text:
    """A text column as codes into a vocabulary; code -1 is a missing value."""

    codes: np.ndarray
    vocab: tuple[str, ...]

    def is_in(self, *values: str) -> np.ndarray:
        wanted = [self.vocab.index(v) for v in values if v in self.vocab]
        return np.isin(self.codes, wanted)


Column = np.ndarray | Text


@cache
def profile() -> dict:
    return json.loads(PROFILE_PATH.read_text())


def spec(table: str, column: str) -> dict:
    return profile()["tables"][table]["columns"][column]


def kinds(table: str) -> dict[str, str]:
    """Print kind per column (int, float, text), as pandas wrote the real file."""
    return {c: s["kind"] for c, s in profile()["tables"][table]["columns"].items()}


def gaussian_uniform(rng: np.random.Generator, shift: np.ndarray, weight: float) -> np.ndarray:
    """Uniforms whose normal score correlates with `shift` (a standard normal) by `weight`."""
    noise = rng.standard_normal(len(shift))
    return ndtr(weight * shift + np.sqrt(1.0 - weight**2) * noise)


def from_quantiles(quantiles: list[float], u: np.ndarray, continuous: bool) -> np.ndarray:
    """Inverse CDF: interpolate continuous columns, else return real sample values."""
    q = np.asarray(quantiles)
    position = u * (len(q) - 1)
    if continuous:
        return np.interp(position, np.arange(len(q)), q)
    return q[np.rint(position).astype(np.int64)]


def number(rng: np.random.Generator, column_spec: dict, u: np.ndarray) -> np.ndarray:
    """A numeric column from uniforms `u`: quantile draw, the 365243 sentinel at its real share."""
    values = from_quantiles(column_spec["quantiles"], u, column_spec["continuous"])
    sentinel = rng.random(len(values)) < column_spec["sentinel"]
    return np.where(sentinel, SENTINEL, values)


def text(rng: np.random.Generator, column_spec: dict, n: int, u: np.ndarray | None = None) -> Text:
    """A text column from the real vocabulary and frequencies, no missingness."""
    weights = np.asarray(column_spec["weights"], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    u = rng.random(n) if u is None else u
    codes = np.minimum(np.searchsorted(cumulative, u, side="right"), len(weights) - 1)
    return Text(codes.astype(np.int32), tuple(column_spec["values"]))


def with_missing(values: Column, missing: np.ndarray) -> Column:
    """Blank the rows where `missing` is true (NaN for numbers, code -1 for text)."""
    if isinstance(values, Text):
        return Text(np.where(missing, -1, values.codes).astype(np.int32), values.vocab)
    return np.where(missing, np.nan, values)


def column(
    rng: np.random.Generator, column_spec: dict, n: int, missing_u: np.ndarray | None = None
) -> Column:
    """Any column as profiled, missing at its real share (optionally from a shared uniform)."""
    missing_u = rng.random(n) if missing_u is None else missing_u
    if column_spec["kind"] == "text":
        values: Column = text(rng, column_spec, n)
    else:
        values = number(rng, column_spec, rng.random(n))
    return with_missing(values, missing_u < column_spec["missing"])
