"""Data scientists push their own models: a LightGBM booster trained in a notebook on the platform's
features (all or a subset, by name) enters the same lifecycle as `credit train`'s.

`import_model` refuses a booster using a feature the platform cannot produce, calibrates it and sets its
cost threshold, review band and input profile on validation rows the data scientist names (the notebook's
out-of-fold scores, or clients it held out, scored here from the feature store), logs the metrics,
figures, SHAP importance and reference sample `credit train` logs, records the author and registers the
version as the challenger. Gates, four eyes and promotion then apply as to any version.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import train_test_split

from services.common.migrations import migrate
from services.feature_definitions.catalog import not_produced
from services.feature_definitions.families import protected_features
from services.model import audit, registry
from services.model.audit import Event, current_actor
from services.model.policy import REVIEW_SHARE
from services.training import tracking
from services.training.cross_validation import TrainingConfig
from services.training.dataset import TrainingDataError, TrainingSet, check_training_set, load_training_set
from services.training.pipeline import TrainedModel, Validation, evaluated, scoring_model

ID, SCORE = "SK_ID_CURR", "SCORE"
LOGGED_PARAMS = ("objective", "boosting", "learning_rate", "num_leaves", "num_iterations", "max_depth")


class ImportRefused(ValueError):
    """The model or its validation rows cannot enter the lifecycle; the one-line message says why."""


@dataclass(frozen=True)
class ImportReport:
    run_id: str
    version: str
    trained: TrainedModel
    validation: str  # "out-of-fold" or "held-out": where calibration, threshold and band were set


def import_model(
    booster_or_path: lgb.Booster | str | Path,
    database_url: str,
    *,
    predictions: pl.DataFrame | None = None,
    holdout: Sequence[int] | None = None,
    author: str | None = None,
    experiment: str = "credit-scoring",
    review_share: float = REVIEW_SHARE,
    include_gender: bool = False,
) -> ImportReport:
    """Register a notebook's booster (or its saved model.txt) as the new challenger.

    Validation rows, exactly one of: `predictions`, a frame of SK_ID_CURR and SCORE (the notebook's
    out-of-fold `booster.predict` scores), or `holdout`, ids of labelled clients the notebook never
    trained on (scored here). TARGET and features come from the labelled feature store. 80 % of those
    rows set calibration, threshold and review band (the `val_` metrics); 20 % are the test rows (`test_`
    metrics, importance, reference sample). The author (default $CREDIT_ACTOR, else the OS user) may
    not approve it.
    """
    booster = booster_or_path if isinstance(booster_or_path, lgb.Booster) else _read(Path(booster_or_path))
    names = check_features(booster.feature_name(), include_gender)
    data = load_training_set(database_url)
    rows, scores, source = _validation(booster, names, data, predictions, holdout)
    params = _params(booster, names, source, include_gender)
    trained = _assemble(booster, names, data, rows, scores, review_share, params)
    author = author or current_actor()
    with tracking.parent_run(experiment, f"import-{datetime.now(UTC):%Y%m%d-%H%M%S}") as run_id:
        version = tracking.register_final(trained, run_id, author)
    registry.set_tags(version, {"origin": "import", "validation": source})
    migrate(database_url)
    detail = {"run_id": run_id, "validation": source, "features": len(names)}
    audit.record(database_url, Event.IMPORTED, version, author, detail)
    return ImportReport(run_id, version, trained, source)


def read_table(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    """A Parquet or CSV file of validation rows with `columns` (`--oof`, `--holdout`)."""
    try:
        frame = pl.read_csv(path) if path.suffix.lower() == ".csv" else pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise ImportRefused(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ImportRefused(f"{path} lacks column(s) {', '.join(absent)} (has {', '.join(frame.columns)})")
    return frame


def check_features(model_names: Sequence[str], include_gender: bool = False) -> tuple[str, ...]:
    """The booster's feature names if the platform produces every one (catalog NAMES), else refused,
    naming the missing ones; a protected feature (gender) only with `include_gender`, as in training."""
    missing = not_produced(model_names)
    if missing:
        raise ImportRefused(
            f"the model uses {len(missing)} feature(s) the platform cannot produce: {', '.join(missing)}"
        )
    protected = sorted(set(model_names) & set(protected_features()))
    if protected and not include_gender:
        raise ImportRefused(f"the model uses {', '.join(protected)}: allowed only with include_gender")
    return tuple(model_names)


def _read(path: Path) -> lgb.Booster:
    try:
        return lgb.Booster(model_file=str(path))
    except (lgb.basic.LightGBMError, OSError) as error:
        raise ImportRefused(f"{path} is not a LightGBM model file: {str(error).splitlines()[0]}") from None


def _validation(
    booster: lgb.Booster,
    names: tuple[str, ...],
    data: TrainingSet,
    predictions: pl.DataFrame | None,
    holdout: Sequence[int] | None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(row indices into `data`, raw scores, source) of the validation rows."""
    if (predictions is None) == (holdout is None):
        raise ImportRefused(
            "give the validation rows: the notebook's out-of-fold predictions (SK_ID_CURR, SCORE) "
            "or the ids of labelled clients it held out, one of the two"
        )
    if predictions is not None:
        if not {ID, SCORE} <= set(predictions.columns):
            raise ImportRefused(f"predictions need columns {ID} and {SCORE}, got {predictions.columns}")
        rows = _rows_of(data, predictions[ID].to_numpy())
        return rows, predictions[SCORE].cast(pl.Float64).to_numpy(), "out-of-fold"
    rows = _rows_of(data, np.asarray(holdout))
    return rows, booster.predict(_columns(data, names)[rows]), "held-out"


def _rows_of(data: TrainingSet, ids: np.ndarray) -> np.ndarray:
    """Row index of each id in `data`; ids without features or TARGET in the store are refused."""
    position = {int(i): row for row, i in enumerate(data.client_ids)}
    unknown = [int(i) for i in ids if int(i) not in position]
    if unknown:
        raise ImportRefused(
            f"{len(unknown)} validation client(s) have no TARGET or no features in the store "
            f"(e.g. {', '.join(map(str, unknown[:5]))}); run `credit features build` or drop them"
        )
    rows = np.array([position[int(i)] for i in ids], dtype=np.intp)
    try:
        check_training_set(data.y[rows])
    except TrainingDataError as error:
        raise ImportRefused(f"validation rows: {error}") from None
    return rows


def _columns(data: TrainingSet, names: tuple[str, ...]) -> np.ndarray:
    position = {name: i for i, name in enumerate(data.names)}
    return data.x[:, [position[name] for name in names]]


def _assemble(
    booster: lgb.Booster,
    names: tuple[str, ...],
    data: TrainingSet,
    rows: np.ndarray,
    scores: np.ndarray,
    review_share: float,
    params: dict[str, Any],
) -> TrainedModel:
    """Policy on 80 % of the validation rows, metrics on the rest; the input profile learns the ranges of
    every labelled client in the store (the rows a notebook trains on)."""
    config = TrainingConfig()
    y = data.y[rows]
    part = np.arange(len(rows))
    fit, test = train_test_split(part, test_size=config.test_size, stratify=y, random_state=config.seed)
    validation = Validation(scores[fit], y[fit], _columns(data, names), review_share)
    model, validation_pd = scoring_model(booster, names, data.feature_set_hash, validation)
    tested = rows[test]
    return evaluated(
        model, params, y[fit], validation_pd, data.client_ids[tested], data.x[tested], y[test], data.names
    )


def _params(
    booster: lgb.Booster, names: tuple[str, ...], source: str, include_gender: bool
) -> dict[str, Any]:
    """What MLflow shows of an imported booster: its origin, size and main LightGBM parameters."""
    given = {key: booster.params[key] for key in LOGGED_PARAMS if key in booster.params}
    counts = {"num_trees": booster.num_trees(), "num_features": len(names)}
    return {"origin": "import", "validation": source, **counts, **given, "include_gender": include_gender}
