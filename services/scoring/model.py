"""The trained model as one unit: LightGBM booster + calibrator + decision threshold + feature names.

Saved as plain files (model.txt, calibrator.json, model.json) that the scoring service loads directly,
and wrapped as an MLflow pyfunc for everything that wants the generic interface.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow.pyfunc
import numpy as np
import pandas as pd

from services.scoring.calibration import Calibrator

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

    def predict_pd(self, values: np.ndarray) -> np.ndarray:
        """Calibrated probability of default for rows ordered as `feature_names`."""
        return self.calibrator.transform(self.booster.predict(values))

    def decide(self, pd_values: np.ndarray) -> np.ndarray:
        return np.where(pd_values >= self.threshold, "refused", "approved")

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / BOOSTER_FILE))
        self.calibrator.save(directory / CALIBRATOR_FILE)
        meta = {
            "threshold": self.threshold,
            "feature_names": list(self.feature_names),
            "feature_set_hash": self.feature_set_hash,
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
        )


class CreditPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of ScoringModel: feature columns in, PD and DECISION out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model = ScoringModel.load(Path(context.artifacts["scoring"]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        values = model_input[list(self.model.feature_names)].to_numpy(dtype=np.float64)
        pd_values = self.model.predict_pd(values)
        return pd.DataFrame({"PD": pd_values, "DECISION": self.model.decide(pd_values)})
