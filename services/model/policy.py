"""What a PD becomes for a lender: approved, review or refused; the score in points; a risk grade.

Stored with every trained model (model.json, MLflow) so a decision can always be re-derived from its
model version:
- the review band: the PDs around the cost threshold where the model should not decide alone, chosen on
  the out-of-fold predictions to hold about `review_share` of the applications (those nearest the
  threshold);
- the input profile: the training range of each feature the model uses, the category codes it has seen,
  and the features it relies on most; an input outside them is unusual, still scored, and sent to review;
- the points scale (points to double the odds, anchor points at anchor odds good:bad) and the master scale
  of PD bands behind the risk grades.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

REVIEW_SHARE = 0.10
RELIED_ON = 20  # the most important features (by gain) an application should mostly have
MIN_PRESENT_SHARE = 0.5  # fewer of them present than this: too thin to decide without an officer


@dataclass(frozen=True)
class ReviewBand:
    """PDs in [low, high) go to review; `share` of the out-of-fold applications fell inside."""

    low: float
    high: float
    share: float

    @classmethod
    def around(cls, pd_values: np.ndarray, threshold: float, share: float) -> "ReviewBand":
        """The symmetric band around `threshold` holding the `share` of `pd_values` nearest to it."""
        if share <= 0 or len(pd_values) == 0:
            return cls(threshold, threshold, 0.0)
        distances = np.sort(np.abs(pd_values - threshold))
        reach = float(distances[min(len(distances), max(1, round(share * len(distances)))) - 1])
        low, high = max(0.0, threshold - reach), min(1.0, threshold + reach + 1e-12)
        inside = float(np.mean((pd_values >= low) & (pd_values < high)))
        return cls(low, high, inside)

    def holds(self, pd_values: np.ndarray) -> np.ndarray:
        return (pd_values >= self.low) & (pd_values < self.high)


@dataclass(frozen=True)
class RiskScale:
    """Points = anchor_points + pdo * log2(odds / anchor_odds), odds = (1 - PD) / PD (good:bad); grades
    are the master scale's PD bands: a grade holds the PDs below its upper bound (and above the last)."""

    points_to_double_odds: float = 20.0
    anchor_points: float = 600.0
    anchor_odds: float = 50.0
    grades: tuple[tuple[str, float], ...] = (
        ("A", 0.01),
        ("B", 0.02),
        ("C", 0.04),
        ("D", 0.08),
        ("E", 0.16),
        ("F", 0.32),
        ("G", 1.0),
    )

    def points(self, pd: float) -> int:
        clipped = min(max(pd, 1e-6), 1 - 1e-6)
        odds = (1 - clipped) / clipped
        return round(self.anchor_points + self.points_to_double_odds * math.log2(odds / self.anchor_odds))

    def grade(self, pd: float) -> str:
        return next((name for name, upper in self.grades if pd < upper), self.grades[-1][0])


@dataclass(frozen=True)
class InputWarning:
    field: str
    value: float | None
    unusual: str


@dataclass(frozen=True)
class InputProfile:
    """What the model saw in training, for the features it uses (split on at least once)."""

    ranges: dict[str, tuple[float, float]]
    categories: dict[str, tuple[float, ...]]
    relied_on: tuple[str, ...]
    min_present: int = field(default=0)

    @classmethod
    def learn(
        cls, x: np.ndarray, names: Sequence[str], categorical: set[str], gain: np.ndarray
    ) -> "InputProfile":
        used = [i for i in np.argsort(-gain) if gain[i] > 0]
        ranges, categories = {}, {}
        for i in used:
            column = x[:, i][~np.isnan(x[:, i])]
            if len(column) == 0:
                continue
            if names[i] in categorical:
                categories[names[i]] = tuple(float(v) for v in np.unique(column))
            else:
                ranges[names[i]] = (float(column.min()), float(column.max()))
        relied_on = tuple(names[i] for i in used[:RELIED_ON])
        return cls(ranges, categories, relied_on, math.ceil(MIN_PRESENT_SHARE * len(relied_on)))

    def warnings(self, row: Mapping[str, float | None]) -> list[InputWarning]:
        """Each way this feature row is unusual for the model: out of range, unseen category, too thin."""
        found = []
        for name, (low, high) in self.ranges.items():
            value = row.get(name)
            if value is not None and not math.isnan(value) and not low <= value <= high:
                found.append(InputWarning(name, value, f"outside the training range [{low:g}, {high:g}]"))
        for name, seen in self.categories.items():
            value = row.get(name)
            if value is not None and not math.isnan(value) and value not in seen:
                found.append(InputWarning(name, value, "a category the model never saw in training"))
        present = sum(1 for n in self.relied_on if row.get(n) is not None and not math.isnan(row[n]))
        if present < self.min_present:
            found.append(
                InputWarning(
                    "inputs",
                    float(present),
                    f"only {present} of the {len(self.relied_on)} features the model relies on most are "
                    f"present (at least {self.min_present} expected), e.g. no external score and no history",
                )
            )
        return found

    def unusual_rows(self, values: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Per row of `values` (columns ordered as `names`): has it any warning? The same rules as
        `warnings`, on whole columns, so a batch of a million rows is checked as fast as it is scored."""
        column = {name: i for i, name in enumerate(names)}
        flagged = np.zeros(len(values), dtype=bool)
        with np.errstate(invalid="ignore"):
            for name, (low, high) in self.ranges.items():
                x = values[:, column[name]]
                flagged |= (x < low) | (x > high)
            for name, seen in self.categories.items():
                x = values[:, column[name]]
                flagged |= ~np.isnan(x) & ~np.isin(x, np.asarray(seen, dtype=np.float64))
        relied_on = [column[name] for name in self.relied_on]
        present = (~np.isnan(values[:, relied_on])).sum(axis=1) if relied_on else np.zeros(len(values))
        return flagged | (present < self.min_present)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InputProfile":
        return cls(
            ranges={k: (float(v[0]), float(v[1])) for k, v in data["ranges"].items()},
            categories={k: tuple(v) for k, v in data["categories"].items()},
            relied_on=tuple(data["relied_on"]),
            min_present=int(data["min_present"]),
        )


def outcomes(
    pd_values: np.ndarray, threshold: float, band: ReviewBand | None, unusual: np.ndarray
) -> np.ndarray:
    """approved below the threshold, refused at or above it, review inside the band or when unusual."""
    decided = np.where(pd_values >= threshold, "refused", "approved").astype(object)
    review = unusual if band is None else unusual | band.holds(pd_values)
    decided[review] = "review"
    return decided.astype(str)
