"""The synthetic generator: real headers and quirks, joinable keys, determinism, drift, planted signal."""

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from services.data.cli import data_app
from services.data.synth import DRIFTED_COLUMNS, RECOMPUTED_UNDER_DRIFT, generate
from services.data.tables import TABLES

SMALL, MEDIUM, SEED = 2_000, 20_000, 11
HISTORY = (
    "bureau",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
# Kaggle rows per training client (full data: 307,511 training clients).
KAGGLE_PER_CLIENT = {
    "application_test": 48_744 / 307_511,
    "bureau": 1_716_428 / 307_511,
    "bureau_balance": 27_299_925 / 307_511,
    "previous_application": 1_670_214 / 307_511,
    "POS_CASH_balance": 10_001_358 / 307_511,
    "installments_payments": 13_605_401 / 307_511,
    "credit_card_balance": 3_840_312 / 307_511,
}

# Where a column's marginal hides its drift, the statistic that shows it (payment lateness, not payment day).
DRIFT_STATISTICS = {
    "DAYS_ENTRY_PAYMENT": pl.col("DAYS_ENTRY_PAYMENT").cast(pl.Float64)
    - pl.col("DAYS_INSTALMENT").cast(pl.Float64),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(SMALL, SEED, out)
    return out


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("medium")
    return out, generate(MEDIUM, SEED, out)


def read(out: Path, table: str) -> pl.DataFrame:
    """A written CSV with every field as text, exactly as in the file (missing = null)."""
    return pl.read_csv(out / f"{table}.csv", infer_schema_length=0)


def real_header(real_dir: Path, table: str) -> str:
    path = (
        real_dir / "application_train_sample.csv"
        if table == "application_train"
        else real_dir / "heads" / f"{table}.csv"
    )
    return path.open().readline().strip()


def test_headers_equal_the_real_files(small: Path, real_data_dir: Path) -> None:
    for table in TABLES:
        written = (small / f"{table.name}.csv").open().readline().strip()
        assert written == real_header(real_data_dir, table.name), table.name


def test_keys_join(small: Path) -> None:
    train, test = read(small, "application_train"), read(small, "application_test")
    clients = set(train["SK_ID_CURR"]) | set(test["SK_ID_CURR"])
    assert len(clients) == train.height + test.height
    for table in HISTORY:
        assert set(read(small, table)["SK_ID_CURR"]) <= clients, table
    bureau = read(small, "bureau")
    assert bureau["SK_ID_BUREAU"].is_unique().all()
    assert set(read(small, "bureau_balance")["SK_ID_BUREAU"]) <= set(bureau["SK_ID_BUREAU"])
    previous = read(small, "previous_application")
    assert previous["SK_ID_PREV"].is_unique().all()
    pairs = set(previous.select("SK_ID_PREV", "SK_ID_CURR").iter_rows())
    for table in ("POS_CASH_balance", "installments_payments", "credit_card_balance"):
        child = set(read(small, table).select("SK_ID_PREV", "SK_ID_CURR").iter_rows())
        assert child and child <= pairs, table


def test_row_counts_follow_kaggle_ratios(medium: tuple[Path, dict[str, int]]) -> None:
    _, rows = medium
    assert rows["application_train"] == MEDIUM
    for table, per_client in KAGGLE_PER_CLIENT.items():
        assert rows[table] / MEDIUM == pytest.approx(per_client, rel=0.1), table


def test_not_every_client_has_every_table(medium: tuple[Path, dict[str, int]]) -> None:
    out, rows = medium
    clients = rows["application_train"] + rows["application_test"]
    without = {
        t: 1 - read(out, t)["SK_ID_CURR"].n_unique() / clients
        for t in ("bureau", "previous_application", "credit_card_balance")
    }
    assert without["bureau"] == pytest.approx(0.14, abs=0.03)
    assert without["previous_application"] == pytest.approx(0.05, abs=0.02)
    assert without["credit_card_balance"] > 0.6


def test_same_seed_same_bytes_other_seed_differs(small: Path, tmp_path: Path) -> None:
    generate(SMALL, SEED, tmp_path / "again")
    generate(SMALL, SEED + 1, tmp_path / "other")
    for path in small.glob("*.csv"):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (tmp_path / "other" / "application_train.csv").read_bytes() != (
        small / "application_train.csv"
    ).read_bytes()
    assert (tmp_path / "other" / "bureau.csv").read_bytes() != (small / "bureau.csv").read_bytes()


def test_drift_changes_only_documented_columns(small: Path, tmp_path: Path) -> None:
    generate(SMALL, SEED, tmp_path, drift=True)
    for path in small.glob("*.csv"):
        table = path.stem
        base, drifted = read(small, table), read(tmp_path, table)
        assert base.columns == drifted.columns and base.height == drifted.height, table
        moved = DRIFTED_COLUMNS.get(table, ()) + RECOMPUTED_UNDER_DRIFT.get(table, ())
        for column in base.columns:
            same = base[column].equals(drifted[column])
            assert same != (column in moved), f"{table}.{column}"
        for column in DRIFTED_COLUMNS.get(table, ()):
            statistic = DRIFT_STATISTICS.get(column, pl.col(column))
            before, after = (
                frame.select(statistic.cast(pl.Float64).mean()).item() for frame in (base, drifted)
            )
            assert abs(after - before) > 0.05 * abs(before), f"{table}.{column}: {before} -> {after}"


def test_prevalence_and_oracle_auc(medium: tuple[Path, dict[str, int]]) -> None:
    out, rows = medium
    oracle = pl.read_csv(out / "oracle.csv")
    assert oracle.height == rows["application_train"] + rows["application_test"]
    train = pl.read_csv(out / "application_train.csv", columns=["SK_ID_CURR", "TARGET"]).join(
        oracle, on="SK_ID_CURR"
    )
    assert train["TARGET"].mean() == pytest.approx(0.08, abs=0.015)
    assert 0.78 <= roc_auc_score(train["TARGET"], train["TRUE_PD"]) <= 0.84


def test_history_signal_is_recoverable(medium: tuple[Path, dict[str, int]]) -> None:
    """Clients who pay instalments late default more often: a model can learn it from the rows."""
    out, _ = medium
    late = (
        pl.read_csv(out / "installments_payments.csv")
        .group_by("SK_ID_CURR")
        .agg(((pl.col("DAYS_ENTRY_PAYMENT") - pl.col("DAYS_INSTALMENT")) > 0).mean().alias("late_share"))
    )
    train = pl.read_csv(out / "application_train.csv", columns=["SK_ID_CURR", "TARGET"]).join(
        late, on="SK_ID_CURR"
    )
    assert roc_auc_score(train["TARGET"], train["late_share"]) > 0.6


def test_external_scores_are_monotone_and_strong(medium: tuple[Path, dict[str, int]]) -> None:
    out, _ = medium
    train = pl.read_csv(out / "application_train.csv", columns=["TARGET", "EXT_SOURCE_2", "DAYS_BIRTH"])
    scored = train.drop_nulls("EXT_SOURCE_2")
    assert roc_auc_score(scored["TARGET"], -scored["EXT_SOURCE_2"]) > 0.62
    rates = (
        scored.group_by(pl.col("EXT_SOURCE_2").qcut(4, labels=list("abcd")))
        .agg(pl.col("TARGET").mean())
        .sort("EXT_SOURCE_2")
    )
    assert rates["TARGET"].to_list() == sorted(rates["TARGET"].to_list(), reverse=True)
    assert roc_auc_score(train["TARGET"], train["DAYS_BIRTH"]) > 0.52  # younger (less negative) = riskier


def test_missingness_close_to_real(medium: tuple[Path, dict[str, int]], real_data_dir: Path) -> None:
    out, _ = medium
    columns = [
        "EXT_SOURCE_1",
        "EXT_SOURCE_3",
        "OWN_CAR_AGE",
        "OCCUPATION_TYPE",
        "APARTMENTS_AVG",
        "COMMONAREA_MEDI",
        "FLOORSMAX_MODE",
        "WALLSMATERIAL_MODE",
        "AMT_REQ_CREDIT_BUREAU_YEAR",
        "NAME_TYPE_SUITE",
    ]
    real = pl.read_csv(real_data_dir / "application_train_sample.csv", infer_schema_length=0, columns=columns)
    synthetic = read(out, "application_train").select(columns)
    for column in columns:
        assert synthetic[column].null_count() / synthetic.height == pytest.approx(
            real[column].null_count() / real.height, abs=0.03
        ), column


def test_real_quirks(medium: tuple[Path, dict[str, int]]) -> None:
    out, _ = medium
    train = read(out, "application_train")
    no_job = train["NAME_INCOME_TYPE"].is_in(["Pensioner", "Unemployed"])
    assert (no_job == (train["DAYS_EMPLOYED"] == "365243")).all()
    assert (train.filter(no_job)["ORGANIZATION_TYPE"] == "XNA").all()
    assert (train["OWN_CAR_AGE"].is_null() == (train["FLAG_OWN_CAR"] == "N")).all()
    assert b'"Spouse, partner"' in (out / "application_train.csv").read_bytes()
    assert (read(out, "previous_application")["CODE_REJECT_REASON"] == "XAP").mean() > 0.7
    assert train["DAYS_BIRTH"].str.contains(r"\.").sum() == 0  # integer-kind columns print without decimals
    assert train["AMT_INCOME_TOTAL"].str.ends_with(".0").mean() > 0.9  # float-kind columns print as floats


def test_parquet_output_readable(tmp_path: Path) -> None:
    rows = generate(300, SEED, tmp_path, fmt="parquet")
    for table in TABLES:
        parquet = pq.read_table(tmp_path / f"{table.name}.parquet")
        assert parquet.column_names == list(table.columns)
        assert parquet.num_rows == rows[table.name]


def test_cli_writes_and_summarises(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        data_app, ["synth", "--clients", "200", "--seed", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "application_train.csv" in result.output and "200 rows" in result.output
    assert (tmp_path / "credit_card_balance.csv").exists() and (tmp_path / "oracle.csv").exists()


@pytest.mark.parametrize("args", [["--format", "xml"], ["--clients", "0"]])
def test_cli_rejects_bad_input_without_traceback(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(data_app, ["synth", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert ("Invalid value" in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )


def test_cli_rejects_a_file_as_output_directory(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    result = CliRunner().invoke(data_app, ["synth", "--clients", "10", "--out", str(taken)])
    assert result.exit_code == 2
    assert "not a directory" in result.output


def test_generate_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of csv, parquet"):
        generate(10, SEED, tmp_path, fmt="xlsx")
