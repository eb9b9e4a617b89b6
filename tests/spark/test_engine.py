"""`--engine spark` on a cluster of separate processes: the vectors equal the single-machine build's (the
online parity test's tolerance), `--load` stores them unchanged, and the PDs equal `credit score --input`."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from mlflow import MlflowClient
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from loopback.databases import throwaway_url
from loopback.registry import register_version
from services.cli import app
from services.common.db import drop_database, ensure_database, make_engine
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.store import read_materialised
from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.model import ScoringModel
from services.model.registry import CHAMPION, MODEL_NAME
from tests.features.test_parity import assert_same_vectors


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def parquet_vectors(directory: Path) -> pl.DataFrame:
    return pl.read_parquet(directory / f"feature_set_hash={FEATURE_SET_HASH}" / "*.parquet").sort(
        "sk_id_curr"
    )


@pytest.fixture(scope="module")
def spark_build(
    spark: SparkSession, tables: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, dict]]:
    """`credit features build --engine spark --load` on the CSV tables, into an empty feature store."""
    output = tmp_path_factory.mktemp("vectors")
    url = throwaway_url()
    ensure_database(url)
    args = ["--engine", "spark", "--input", str(tables["csv"]), "--output", str(output), "--load"]
    code, printed = invoke(["features", "build", "--database-url", url, *args])
    assert code == 0, printed
    yield output, url, json.loads(printed.strip().splitlines()[-1])
    drop_database(url)


def test_spark_vectors_equal_the_single_machine_build(
    spark_build: tuple[Path, str, dict], single_machine: str
) -> None:
    output, _, report = spark_build
    reference = read_materialised(single_machine)
    vectors = parquet_vectors(output)
    np.testing.assert_array_equal(vectors["sk_id_curr"].to_numpy(), reference.client_ids)
    assert_same_vectors(vectors.select(NAMES).to_numpy(), reference.values)
    assert (report["clients"], report["features"]) == (len(reference.client_ids), len(NAMES))


def test_load_stores_the_parquet_vectors_unchanged(spark_build: tuple[Path, str, dict]) -> None:
    output, url, report = spark_build
    stored = read_materialised(url)
    vectors = parquet_vectors(output)
    np.testing.assert_array_equal(stored.client_ids, vectors["sk_id_curr"].to_numpy())
    np.testing.assert_array_equal(stored.values, vectors.select(NAMES).to_numpy())  # NaN where missing
    assert report["loaded"] == report["clients"]


def champion_on(database_url: str, tracking: str) -> str:
    """A small LightGBM on the single-machine vectors and TARGET, registered as the champion."""
    with make_engine(database_url).connect() as conn:
        labels = dict(conn.exec_driver_sql("SELECT sk_id_curr, target FROM application_train").all())
    matrix = read_materialised(database_url, list(labels))
    y = np.array([labels[int(i)] for i in matrix.client_ids])
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": 3, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(matrix.values, y), num_boost_round=20)
    calibrator = fit_calibrator(booster.predict(matrix.values), y)
    threshold = best_threshold(y, calibrator.transform(booster.predict(matrix.values))).threshold
    model = ScoringModel(booster, calibrator, threshold, NAMES, FEATURE_SET_HASH)
    version = register_version(model, pl.DataFrame({"SK_ID_CURR": matrix.client_ids}), tracking)
    MlflowClient(tracking).set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    return version


def test_spark_pds_equal_credit_score_input(
    spark: SparkSession,
    tables: dict[str, Path],
    single_machine: str,
    tracking_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = champion_on(single_machine, tracking_uri)
    monkeypatch.setenv("DATABASE_URL", single_machine)
    local_args = [
        "--input",
        str(tables["csv"] / "application_train.csv"),
        "--output",
        str(tmp_path / "l.csv"),
    ]
    code, printed = invoke(["score", *local_args])
    assert code == 0, printed
    # The Parquet copy of the same tables: the two input formats must give the same vectors too.
    spark_args = ["--engine", "spark", "--input", str(tables["parquet"]), "--output", str(tmp_path / "s")]
    code, printed = invoke(["score", *spark_args])
    assert code == 0, printed

    local = pl.read_csv(tmp_path / "l.csv").sort("SK_ID_CURR")
    on_spark = pl.read_parquet(tmp_path / "s" / "*.parquet").sort("SK_ID_CURR")
    assert on_spark.height == read_materialised(single_machine).client_ids.size  # train and test clients
    on_spark = on_spark.filter(pl.col("SK_ID_CURR").is_in(local["SK_ID_CURR"].implode()))
    assert on_spark["SK_ID_CURR"].to_list() == local["SK_ID_CURR"].to_list()
    np.testing.assert_allclose(on_spark["PD"].to_numpy(), local["PD"].to_numpy(), rtol=1e-12, atol=0)
    assert on_spark["DECISION"].to_list() == local["DECISION"].to_list()
    assert {"approved", "refused"} <= set(local["DECISION"])  # the comparison covers both sides
    assert set(on_spark["MODEL_VERSION"]) == {version}


def _damaged_copy(source: Path, target: Path, damage: str) -> Path:
    shutil.copytree(source, target)
    if damage == "missing table":
        (target / "bureau_balance.csv").unlink()
    elif damage == "missing column":
        frame = pl.read_csv(target / "bureau.csv", infer_schema_length=0)
        frame.drop("AMT_ANNUITY").write_csv(target / "bureau.csv")
    elif damage == "malformed number":
        frame = pl.read_csv(target / "bureau.csv", infer_schema_length=0)
        frame.with_columns(DAYS_CREDIT=pl.lit("soon")).write_csv(target / "bureau.csv")
    return target


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing table", "no file in {dir} for table(s): bureau_balance"),
        ("missing column", "file:{dir}/bureau.csv: missing: AMT_ANNUITY"),
        ("malformed number", "'soon'"),
    ],
)
def test_bad_input_fails_with_a_clear_message(
    spark: SparkSession, tables: dict[str, Path], tmp_path: Path, damage: str, message: str
) -> None:
    source = _damaged_copy(tables["csv"], tmp_path / "in", damage)
    args = ["--engine", "spark", "--input", str(source), "--output", str(tmp_path / "out")]
    code, printed = invoke(["features", "build", *args])
    assert code == 1
    assert message.format(dir=source) in printed, printed
    assert "Traceback" not in printed and "\tat " not in printed


def test_spark_engine_needs_input_and_output_directories(tables: dict[str, Path]) -> None:
    code, printed = invoke(["features", "build", "--engine", "spark", "--input", str(tables["csv"])])
    assert (code, "--engine spark needs --input DIR and --output DIR" in printed) == (2, True)
    code, printed = invoke(["score", "--engine", "spark", "--client", "100002"])
    assert code == 2
