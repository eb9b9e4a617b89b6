"""The models the service scores with and the fast predict path.

A `ModelHolder` keeps references to the loaded champion and challenger; the reloader replaces them by
plain assignment (atomic in CPython), and each request reads the reference once, so a request is scored,
validated and labelled by one version even while a promotion swaps the model underneath.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.model.model import ScoringModel

FeatureRow = Mapping[str, float | None]
MAX_NAMED = 20  # feature names quoted in one error message; the details list carries the rest


class InvalidFeatures(ValueError):
    """Rows whose feature names do not match the model's; `details` names each offending field."""

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class LoadedModel:
    """One registered version, ready to score: model files, the alias it came from and its tag metrics."""

    version: str
    alias: str
    model: ScoringModel
    metrics: dict[str, float]
    served: frozenset[str] = frozenset()  # the features service's names: a row may carry those too
    positions: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        positions = {name: i for i, name in enumerate(self.model.feature_names)}
        object.__setattr__(self, "positions", positions)

    def matrix(self, rows: Sequence[tuple[str, FeatureRow]]) -> np.ndarray:
        """(field path, row) pairs -> rows in the model's feature order as float64; null becomes NaN,
        LightGBM's missing value. A row holds the model's names, or the features service's full vector
        for a model using a subset of it (selected by name); anything else is refused, naming the names."""
        names = self.model.feature_names
        for where, row in rows:
            if row.keys() != self.positions.keys() and not self._selectable(row):
                self._reject(row, where)
        return np.array([[row[name] for name in names] for _, row in rows], dtype=np.float64)

    def _selectable(self, row: FeatureRow) -> bool:
        return self.positions.keys() <= row.keys() and row.keys() <= self.served

    def predict_pd(self, values: np.ndarray) -> np.ndarray:
        """ScoringModel's booster + calibrator, with one thread per call: concurrency comes from
        concurrent requests, and OpenMP fan-out costs more than it saves on a single row."""
        raw = self.model.booster.predict(values, num_threads=1)
        return self.model.calibrator.transform(raw)

    def columns_for(self, other: "LoadedModel") -> np.ndarray | None:
        """Indices that reorder this model's rows into `other`'s feature order; None if it needs more."""
        if not set(other.model.feature_names) <= self.positions.keys():
            return None
        return np.array([self.positions[name] for name in other.model.feature_names], dtype=np.intp)

    def _reject(self, row: FeatureRow, where: str) -> None:
        missing = [name for name in self.model.feature_names if name not in row]
        unknown = sorted(set(row) - self.positions.keys() - self.served)
        details = [{"field": f"{where}.{name}", "reason": "missing feature"} for name in missing]
        details += [{"field": f"{where}.{name}", "reason": "unknown feature"} for name in unknown]
        parts = [
            f"{len(names)} {kind} feature(s) in {where}: {', '.join(names[:MAX_NAMED])}"
            + (", ..." if len(names) > MAX_NAMED else "")
            for kind, names in (("missing", missing), ("unknown", unknown))
            if names
        ]
        raise InvalidFeatures(f"{'; '.join(parts)} (model version {self.version})", details)


class ModelHolder:
    """The current champion and challenger; None until loaded (or when no challenger exists)."""

    def __init__(self) -> None:
        self.champion: LoadedModel | None = None
        self.challenger: LoadedModel | None = None
