"""The training table: materialised features joined to TARGET from application_train, with the checks
that stop a training run early and clearly when the data cannot support one."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg2
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import make_engine
from services.feature_definitions.catalog import not_produced
from services.feature_store.store import FeatureSetNotBuilt, read_materialised

MIN_ROWS = 200
MIN_PER_CLASS = 20


class TrainingDataError(ValueError):
    """The data cannot support a training run; the message says why and what to do."""


@dataclass(frozen=True)
class TrainingSet:
    client_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    feature_set_hash: str


def load_training_set(database_url: str) -> TrainingSet:
    """Labelled clients only: features of the clients whose TARGET is known."""
    targets = read_targets(database_url)
    check_training_set(targets["target"].to_numpy())  # before the (larger) feature read
    try:
        features = read_materialised(database_url, client_ids=targets["sk_id_curr"].to_list())
    except (FeatureSetNotBuilt, psycopg2.Error) as error:
        raise TrainingDataError(f"no materialised features ({error}); run `credit features build`") from None
    by_id = dict(zip(targets["sk_id_curr"].to_list(), targets["target"].to_list(), strict=True))
    y = np.array([by_id[int(i)] for i in features.client_ids], dtype=np.int64)
    training = TrainingSet(features.client_ids, features.values, y, features.names, features.feature_set_hash)
    check_training_set(training.y)
    return training


def labelled_features(database_url: str, names: Sequence[str] | None = None) -> pl.DataFrame:
    """What a notebook trains on: SK_ID_CURR, TARGET and the materialised features (all, or `names` in
    that order) of every labelled client, from the same store and checks as `credit train`."""
    unknown = not_produced(names or ())
    if unknown:
        raise TrainingDataError(f"no such feature(s): {', '.join(unknown)} (see `credit features schema`)")
    data = load_training_set(database_url)
    frame = pl.DataFrame(data.x, schema=list(data.names), orient="row")
    return frame.select(
        pl.Series("SK_ID_CURR", data.client_ids), pl.Series("TARGET", data.y), *(names or data.names)
    )


def read_targets(database_url: str) -> pl.DataFrame:
    """(sk_id_curr, target) for every labelled application."""
    query = "SELECT sk_id_curr, target FROM application_train WHERE target IS NOT NULL"
    try:
        with make_engine(database_url).connect() as conn:
            rows = conn.execute(text(query)).all()
    except SQLAlchemyError as error:
        raise TrainingDataError(
            "cannot read TARGET from application_train (load a labelled application_train first with "
            f"`credit data load`): {str(error).splitlines()[0]}"
        ) from None
    return pl.DataFrame(rows, schema={"sk_id_curr": pl.Int64, "target": pl.Int64}, orient="row")


def check_training_set(y: np.ndarray) -> None:
    """Refuse data a stratified CV and an honest test split cannot be run on."""
    if len(y) == 0:
        raise TrainingDataError(
            "no labelled applications: application_train has no TARGET values with features"
        )
    if len(y) < MIN_ROWS:
        raise TrainingDataError(
            f"only {len(y)} labelled clients with features; training needs at least {MIN_ROWS}"
        )
    classes = set(np.unique(y).tolist())
    if not classes <= {0, 1}:
        raise TrainingDataError(f"TARGET must be 0 or 1, found values {sorted(classes)}")
    counts = np.bincount(y, minlength=2)
    if counts.min() < MIN_PER_CLASS:
        raise TrainingDataError(
            f"TARGET has {counts[0]} zeros and {counts[1]} ones; "
            f"training needs at least {MIN_PER_CLASS} of each"
        )
