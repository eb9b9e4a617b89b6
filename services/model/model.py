"""The trained model as one unit: LightGBM booster + calibrator + decision threshold + feature names, and
the decision policy stored with it (review band, input profile, points and master scale: policy.py).

Saved as plain files (model.txt, calibrator.json, model.json) that the scoring service loads directly,
and wrapped as an MLflow pyfunc for everything that wants the generic interface.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow.pyfunc
import numpy as np
import pandas as pd

from services.model.calibration import Calibrator
from services.model.policy import InputProfile, InputWarning, ReviewBand, RiskScale, outcomes

DEFAULT_SCALE = RiskScale()
BOOSTER_FILE = "model.txt"
CALIBRATOR_FILE = "calibrator.json"
META_FILE = "model.json"


@dataclass(frozen=True)
class ScoringModel:
    booster: lgb.Booster
    calibrator: Calibrator
    threshold: float
    feature_names: tuple[str, ...]
    feature_set_hash: str
    review: ReviewBand | None = None  # None: no band (a model built by hand, e.g. in tests)
    profile: InputProfile | None = None  # None: no input is ever unusual
    scale: RiskScale = DEFAULT_SCALE

    def predict_pd(self, values: np.ndarray) -> np.ndarray:
        """Calibrated probability of default for rows ordered as `feature_names`."""
        return self.calibrator.transform(self.booster.predict(values))

    def columns_of(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """Rows whose columns are `names` (the feature set, say) -> their columns the model uses, in its
        order: a model may use a subset of the features."""
        if names == self.feature_names:
            return values
        position = {name: i for i, name in enumerate(names)}
        return values[:, [position[name] for name in self.feature_names]]

    def decide(self, pd_values: np.ndarray) -> np.ndarray:
        """The model's side of the threshold (what an officer's review is compared to)."""
        return np.where(pd_values >= self.threshold, "refused", "approved")

    def unusual(self, values: np.ndarray) -> np.ndarray:
        """Rows whose inputs the model's profile flags (sent to review however low their PD): one rule for
        the scoring service, batch and Spark scoring, explanations and recourse."""
        if self.profile is None:
            return np.zeros(len(values), dtype=bool)
        return self.profile.unusual_rows(values, self.feature_names)

    def warnings(self, row: Mapping[str, float | None]) -> list[InputWarning]:
        """What is unusual about one named feature row, in words (the API's `warnings`)."""
        return [] if self.profile is None else self.profile.warnings(row)

    def outcome(self, pd_values: np.ndarray, unusual: np.ndarray | None = None) -> np.ndarray:
        """approved, review (inside the review band, or an unusual input) or refused."""
        flagged = np.zeros(len(pd_values), dtype=bool) if unusual is None else unusual
        return outcomes(pd_values, self.threshold, self.review, flagged)

    def decisions(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PDs and outcomes of feature rows (model order), the unusual-input rule included."""
        pd_values = self.predict_pd(values)
        return pd_values, self.outcome(pd_values, self.unusual(values))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / BOOSTER_FILE))
        self.calibrator.save(directory / CALIBRATOR_FILE)
        meta = {
            "threshold": self.threshold,
            "feature_names": list(self.feature_names),
            "feature_set_hash": self.feature_set_hash,
            "review_band": None if self.review is None else asdict(self.review),
            "input_profile": None if self.profile is None else self.profile.to_json(),
            "risk_scale": asdict(self.scale),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> "ScoringModel":
        meta = json.loads((directory / META_FILE).read_text())
        return cls(
            booster=lgb.Booster(model_file=str(directory / BOOSTER_FILE)),
            calibrator=Calibrator.load(directory / CALIBRATOR_FILE),
            threshold=float(meta["threshold"]),
            feature_names=tuple(meta["feature_names"]),
            feature_set_hash=meta["feature_set_hash"],
            review=ReviewBand(**meta["review_band"]) if meta.get("review_band") else None,
            profile=InputProfile.from_json(meta["input_profile"]) if meta.get("input_profile") else None,
            scale=_scale(meta.get("risk_scale")),
        )


def _scale(data: dict[str, Any] | None) -> RiskScale:
    if data is None:
        return DEFAULT_SCALE
    return RiskScale(**{**data, "grades": tuple((name, float(upper)) for name, upper in data["grades"])})


class CreditPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of ScoringModel: feature columns in, PD and DECISION out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model = ScoringModel.load(Path(context.artifacts["scoring"]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        values = model_input[list(self.model.feature_names)].to_numpy(dtype=np.float64)
        pd_values, decisions = self.model.decisions(values)
        return pd.DataFrame({"PD": pd_values, "DECISION": decisions})
