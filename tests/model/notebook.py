"""What a data scientist has in a notebook: a labelled feature store (synthetic vectors of the real
feature set, in a real Postgres) and a LightGBM booster trained on a subset of its features by name."""

import lightgbm as lgb
import numpy as np
import psycopg2
from psycopg2.extras import execute_values

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.store import FeatureMatrix, write_materialised
from services.training.dataset import labelled_features

CLIENTS = 5000
HELD_OUT = 2500  # the last clients: never seen by the notebook's booster
SUBSET = ("app_ext_source_2", "app_ext_source_3", "app_age_years", "app_amt_credit")
OTHER_SUBSET = ("app_ext_source_2", "app_ext_source_3", "app_amt_income_total")


def fill_store(database_url: str, seed: int = 0) -> np.ndarray:
    """CLIENTS labelled clients in application_train and their vectors under the current feature set
    (risk from the external scores; genders and ages for the fairness gates; most features missing).
    The database must be migrated. Returns the client ids."""
    rng = np.random.default_rng(seed)
    ids = np.arange(100_001, 100_001 + CLIENTS, dtype=np.int64)
    values = np.full((CLIENTS, len(NAMES)), np.nan)
    column = {name: i for i, name in enumerate(NAMES)}
    ext2, ext3 = rng.uniform(0, 1, CLIENTS), rng.uniform(0, 1, CLIENTS)
    values[:, column["app_ext_source_2"]], values[:, column["app_ext_source_3"]] = ext2, ext3
    values[:, column["app_code_gender_code"]] = rng.integers(0, 2, CLIENTS)
    values[:, column["app_age_years"]] = rng.uniform(21, 68, CLIENTS)
    values[:, column["app_amt_credit"]] = rng.lognormal(12.5, 0.5, CLIENTS)
    values[:, column["app_amt_income_total"]] = rng.lognormal(11.8, 0.4, CLIENTS)
    z = -2.2 - 4.0 * (ext2 - 0.5) - 3.0 * (ext3 - 0.5)
    target = (rng.random(CLIENTS) < 1 / (1 + np.exp(-z))).astype(int)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        rows = list(zip(ids.tolist(), target.tolist(), strict=True))
        execute_values(cur, "INSERT INTO application_train (sk_id_curr, target) VALUES %s", rows)
    write_materialised(database_url, [FeatureMatrix(ids, values, NAMES, FEATURE_SET_HASH)])
    return ids


def notebook_booster(database_url: str, names: tuple[str, ...] = SUBSET) -> tuple[lgb.Booster, list[int]]:
    """A booster trained, as in a notebook, on the exported features `names` of the clients before the
    held-out ones; returns it and the held-out ids."""
    frame = labelled_features(database_url, names)
    train, held_out = frame[: CLIENTS - HELD_OUT], frame[CLIENTS - HELD_OUT :]
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.1, "verbose": -1, "num_threads": 1}
    data = lgb.Dataset(train.select(names).to_numpy(), train["TARGET"].to_numpy(), feature_name=list(names))
    return lgb.train(params, data, num_boost_round=40), held_out["SK_ID_CURR"].to_list()
