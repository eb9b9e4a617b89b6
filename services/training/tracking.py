"""MLflow logging of a training run: a parent run per training, a child run per candidate, then the
final model's metrics, figures, tables, reference sample and model (pyfunc + plain files)."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import polars as pl
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from services.model import registry
from services.model.mlflow_uri import use_experiment
from services.training import plots
from services.training.pipeline import TrainedModel

PYFUNC_ENTRY = Path(__file__).parents[1] / "model" / "pyfunc_entry.py"
# What the pyfunc imports at load time (besides this project, which must be installed).
PIP_REQUIREMENTS = [f"mlflow=={mlflow.__version__}", f"lightgbm=={lgb.__version__}",
                    f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]  # fmt: skip
REFERENCE_ROWS = 5000
EXAMPLE_ROWS = 5


@contextmanager
def parent_run(experiment: str, name: str) -> Iterator[str]:
    use_experiment(experiment)
    with mlflow.start_run(run_name=name) as run:
        yield run.info.run_id


def log_candidate(name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
    """One child run under the active parent run."""
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)


def log_final(trained: TrainedModel, registered_name: str) -> ModelInfo:
    """Everything about the chosen model on the parent run; the model is registered as `registered_name`."""
    mlflow.log_params(trained.params)
    mlflow.log_metrics({f"val_{k}": v for k, v in trained.validation.items()})
    mlflow.log_metrics({f"test_{k}": v for k, v in trained.test.items()})
    mlflow.log_metric("threshold", trained.model.threshold)
    if trained.model.review is not None:
        mlflow.log_metrics({f"review_{k}": v for k, v in asdict(trained.model.review).items()})
    mlflow.log_dict(asdict(trained.model.scale), "risk_scale.json")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _log_files(trained, root)
        return _log_model(trained, root / "scoring", registered_name)


def register_final(trained: TrainedModel, run_id: str, author: str) -> str:
    """In the active parent run: log the model and everything about it (log_final), register it and tag
    the new version as the challenger, with its author. Returns the version number."""
    info = log_final(trained, registry.MODEL_NAME)
    version = str(info.registered_model_version)
    registry.tag_new_version(version, run_id, trained.model, (trained.validation, trained.test), author)
    return version


def _log_files(trained: TrainedModel, root: Path) -> None:
    (root / "plots").mkdir()
    plots.save_all(
        trained.test_y, trained.test_pd, trained.model.threshold, trained.importance, root / "plots"
    )
    mlflow.log_artifacts(str(root / "plots"), "plots")
    trained.importance.write_csv(root / "shap_importance.csv")
    mlflow.log_artifact(str(root / "shap_importance.csv"))
    features = {
        "feature_set_hash": trained.model.feature_set_hash,
        "features": list(trained.model.feature_names),
    }
    mlflow.log_dict(features, "features.json")
    reference_sample(trained).write_parquet(root / "reference_sample.parquet")
    mlflow.log_artifact(str(root / "reference_sample.parquet"))
    trained.model.save(root / "scoring")
    mlflow.log_artifacts(str(root / "scoring"), "scoring")


def reference_sample(trained: TrainedModel) -> pl.DataFrame:
    """Held-out rows with their features and predictions: the baseline drift monitoring compares to."""
    rows = slice(0, REFERENCE_ROWS)
    features = pl.DataFrame(trained.test_x[rows], schema=list(trained.columns), orient="row")
    pd_values = trained.test_pd[rows]
    return features.with_columns(
        pl.Series("SK_ID_CURR", trained.test_ids[rows]),
        pl.Series("TARGET", trained.test_y[rows]),
        pl.Series("PD", pd_values),
        pl.Series("DECISION", trained.model.decide(pd_values)),
    )


def _log_model(trained: TrainedModel, scoring_dir: Path, registered_name: str) -> ModelInfo:
    rows = trained.model_rows(slice(0, EXAMPLE_ROWS))
    example = pd.DataFrame(rows, columns=list(trained.model.feature_names))
    pd_values = trained.model.predict_pd(rows)
    output = pd.DataFrame({"PD": pd_values, "DECISION": trained.model.decide(pd_values)})
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PYFUNC_ENTRY),
        artifacts={"scoring": str(scoring_dir)},
        signature=infer_signature(example, output),
        input_example=example,
        registered_model_name=registered_name,
        pip_requirements=PIP_REQUIREMENTS,  # explicit: inferring them starts a second Python
        await_registration_for=0,  # the SQL-backed registry creates versions READY; no polling needed
        metadata={"threshold": trained.model.threshold, "feature_set_hash": trained.model.feature_set_hash},
    )
