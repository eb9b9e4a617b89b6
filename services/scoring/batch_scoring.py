"""`credit score`: PDs and decisions for a file of raw applications, or one known client, with the model
behind a registry alias. Features come from the same code the online path uses (no train/serve skew).
An application with a value outside its domain (services/data/domains.py) gets no score: its `error`
column says which field broke which rule."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from services.common.db import raw_connection
from services.data.domains import domain_for, frame_violations, typed_frame
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.online import compute_for_applications, features_for_client
from services.feature_store.store import FeatureMatrix
from services.model.model import ScoringModel
from services.model.model_store import load_alias

OUTPUT_COLUMNS = ("SK_ID_CURR", "PD", "DECISION", "MODEL_VERSION")  # and `error` in a file's output
APPLICATION = "application_test"  # TARGET, if the file has it, is not an input


@dataclass(frozen=True)
class FileScored:
    scored: int
    invalid: int  # rows outside their domain: no score, an error instead


class ScoringInputError(ValueError):
    """The applications or client id cannot be scored; the message says why."""


def read_applications(path: Path) -> pl.DataFrame:
    """Raw applications in the Kaggle application format; TARGET and unknown columns are dropped later."""
    if not path.is_file():
        raise ScoringInputError(f"input file {path} does not exist")
    try:
        applications = pl.read_csv(path, infer_schema_length=10000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise ScoringInputError(f"cannot read {path} as CSV: {error}") from None
    if "SK_ID_CURR" not in applications.columns:
        raise ScoringInputError(f"{path} has no SK_ID_CURR column; expected the Kaggle application format")
    if applications.height == 0:
        raise ScoringInputError(f"{path} holds no applications")
    return applications


def score_file(database_url: str, input_path: Path, output_path: Path, alias: str) -> FileScored:
    """Write OUTPUT_COLUMNS for every application, in input order: a PD and decision for each valid one,
    no score and an `error` for each one outside its domain."""
    applications = read_applications(input_path)
    errors = domain_errors(applications)
    error = pl.Series("error", [errors.get(i) for i in range(applications.height)], dtype=pl.String)
    model, version = load_alias(alias)
    valid = applications.filter(error.is_null())
    pd_values = pl.Series("PD", [None] * applications.height, pl.Float64)
    decisions = pl.Series("DECISION", [None] * applications.height, pl.String)
    if valid.height:
        try:
            features = compute_for_applications(database_url, valid)
        except pl.exceptions.PolarsError as failure:
            raise ScoringInputError(f"{input_path}: {str(failure).splitlines()[0]}") from None
        scored = score_features(model, version, features)
        positions = np.flatnonzero(error.is_null().to_numpy())
        pd_values.scatter(positions, scored["PD"])
        decisions.scatter(positions, scored["DECISION"])
    versions = pl.Series("MODEL_VERSION", [version] * applications.height, pl.String)
    pl.DataFrame([applications["SK_ID_CURR"], pd_values, decisions, versions, error]).write_csv(output_path)
    return FileScored(scored=valid.height, invalid=len(errors))


def domain_errors(applications: pl.DataFrame) -> dict[int, str]:
    """Row position -> why it cannot be scored; a required column absent from the file counts as null."""
    domains = domain_for(APPLICATION).items()
    absent = [pl.lit(None).alias(c) for c, d in domains if not d.nullable and c not in applications.columns]
    frame = typed_frame(APPLICATION, applications.with_columns(absent))
    found = frame_violations(APPLICATION, frame)
    return {row: "; ".join(str(v) for v in violations) for row, violations in found.items()}


def score_client(database_url: str, client_id: int, alias: str) -> dict[str, object]:
    """One client known to Postgres: its materialised vector, else one computed from its rows."""
    model, version = load_alias(alias)
    with raw_connection(database_url) as conn:
        vector = features_for_client(conn, client_id)
    if vector is None:
        raise ScoringInputError(f"client {client_id} is unknown: no application with SK_ID_CURR {client_id}")
    features = FeatureMatrix(np.array([client_id]), vector.values[np.newaxis, :], NAMES, FEATURE_SET_HASH)
    return score_features(model, version, features).row(0, named=True)


def check_feature_set(model: ScoringModel, version: str, feature_set_hash: str) -> None:
    if feature_set_hash != model.feature_set_hash:
        raise ScoringInputError(
            f"model version {version} was trained on feature set {model.feature_set_hash}, but the features "
            f"are {feature_set_hash}; retrain or rebuild the features"
        )


def score_features(model: ScoringModel, version: str, features: FeatureMatrix) -> pl.DataFrame:
    check_feature_set(model, version, features.feature_set_hash)
    pd_values, decisions = model.decisions(model.columns_of(features.values, features.names))
    return pl.DataFrame(
        {
            "SK_ID_CURR": features.client_ids,
            "PD": pd_values,
            "DECISION": decisions,
            "MODEL_VERSION": [version] * len(pd_values),
        }
    )
