"""`credit data load`: the real rows load exactly, reloads are idempotent, bad input is caught and told."""

import csv
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from typer.testing import CliRunner

from services.common.migrations import MIGRATIONS, migrate
from services.data.cli import data_app
from services.data.loader import load_directory
from services.data.sources import table_for_file
from services.data.synth import generate
from services.data.tables import TABLES
from tests.domain_cases import application_cases

Query = Callable[[str], list[tuple[Any, ...]]]
Load = Callable[..., Result]
HEADS = ("application_test", "bureau", "bureau_balance", "previous_application", "pos_cash_balance")
HEADS += ("installments_payments", "credit_card_balance")


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = csv.reader(handle)
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(query: Query, table: str) -> int:
    return query(f"SELECT count(*) FROM {table}")[0][0]


def test_real_sample_and_heads_load_exactly(database_url: str, real_data_dir: Path, query: Query) -> None:
    summary = load_directory(database_url, real_data_dir)

    assert {t.table: (t.loaded, t.rejected) for t in summary.tables} == {
        "application_train": (5000, 0),
        **{name: (199, 0) for name in HEADS},
    }
    assert [p.name for p in summary.ignored] == ["HomeCredit_columns_description.csv"]
    assert count(query, "application_train") == 5000
    assert all(count(query, name) == 199 for name in HEADS)
    assert query(
        "SELECT name_type_suite, own_car_age, region_population_relative, amt_annuity FROM "
        "application_train WHERE sk_id_curr = 100008"
    ) == [("Spouse, partner", None, 0.035792000000000004, 27517.5)]
    assert query("SELECT count(*) FROM application_train WHERE days_employed = 365243")[0][0] > 0
    assert query("SELECT target, code_gender FROM application_train WHERE sk_id_curr = 100002") == [(1, "M")]
    assert query("SELECT count(*) FROM application_train WHERE organization_type = 'XNA'")[0][0] > 0
    assert query(
        "SELECT status FROM bureau_balance WHERE sk_id_bureau = 5715448 AND months_balance = -11"
    ) == [("X",)]


def test_loading_twice_leaves_the_same_rows(database_url: str, real_data_dir: Path, query: Query) -> None:
    fingerprint = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"
    load_directory(database_url, real_data_dir)
    first = {name: query(fingerprint.format(name)) for name in ("application_train", *HEADS)}
    load_directory(database_url, real_data_dir)
    second = {name: query(fingerprint.format(name)) for name in ("application_train", *HEADS)}

    assert first == second
    assert count(query, "application_train") == 5000
    assert count(query, "load_runs") == 2
    assert query("SELECT indexname FROM pg_indexes WHERE tablename = 'pos_cash_balance' ORDER BY 1") == [
        ("ix_pos_cash_balance_sk_id_curr",),
        ("ix_pos_cash_balance_sk_id_prev",),
    ]


def test_header_mismatch_exits_2_names_columns_and_loads_nothing(
    database_url: str, real_data_dir: Path, tmp_path: Path, credit_load: Load, query: Query
) -> None:
    load_directory(database_url, real_data_dir, ["bureau"])
    header, rows = read_csv(real_data_dir / "heads" / "bureau.csv")
    write_csv(tmp_path / "bureau.csv", header, rows[:50])  # a good file, which must not replace the 199 rows
    header, rows = read_csv(real_data_dir / "heads" / "application_test.csv")
    renamed = [("INCOME" if c == "AMT_INCOME_TOTAL" else c) for c in header]
    write_csv(tmp_path / "sub" / "application_test.csv", [*renamed, "EXTRA"], [[*r, "x"] for r in rows])

    result = credit_load(str(tmp_path))

    assert result.exit_code == 2
    assert "application_test.csv: missing: AMT_INCOME_TOTAL; unexpected: INCOME, EXTRA" in result.stderr
    assert "Traceback" not in result.output
    assert count(query, "bureau") == 199
    assert count(query, "load_runs") == 1


def _text_in_number(rows: list[list[str]], header: list[str]) -> None:
    rows[3][header.index("AMT_CREDIT_SUM")] = "lots"


def _missing_key(rows: list[list[str]], header: list[str]) -> None:
    rows[3][header.index("SK_ID_CURR")] = ""


def _duplicate_key(rows: list[list[str]], header: list[str]) -> None:
    rows[3][header.index("SK_ID_BUREAU")] = rows[0][header.index("SK_ID_BUREAU")]


def _ragged(rows: list[list[str]], header: list[str]) -> None:
    rows[3].append("surplus")


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_text_in_number, "AMT_CREDIT_SUM is not a number: 'lots'"),
        (_missing_key, "SK_ID_CURR is missing"),
        (_duplicate_key, "duplicate SK_ID_BUREAU 5714462 (an earlier row has it)"),
        (_ragged, "ragged line: 18 fields, expected 17"),
    ],
)
def test_bad_row_is_quarantined_and_the_rest_loads(
    spoil: Callable[[list[list[str]], list[str]], None],
    reason: str,
    real_data_dir: Path,
    tmp_path: Path,
    credit_load: Load,
    query: Query,
) -> None:
    header, rows = read_csv(real_data_dir / "heads" / "bureau.csv")
    spoil(rows, header)
    path = write_csv(tmp_path / "bureau.csv", header, rows)
    raw = path.read_text().splitlines()[4]

    result = credit_load(str(tmp_path))

    assert result.exit_code == 0, result.output
    assert re.search(r"^bureau +198 +1 ", result.stdout, re.MULTILINE)
    assert "1 rejected" in result.stdout
    assert query("SELECT table_name, file, line, reason, raw FROM load_quarantine") == [
        ("bureau", str(path), 5, reason, raw)
    ]
    assert count(query, "bureau") == 198
    assert query("SELECT rows_loaded, rows_rejected FROM load_run_files WHERE table_name = 'bureau'") == [
        (198, 1)
    ]


def test_line_numbers_count_ragged_and_blank_lines(
    database_url: str, real_data_dir: Path, tmp_path: Path, query: Query
) -> None:
    header, rows = read_csv(real_data_dir / "heads" / "bureau.csv")
    _ragged(rows, header)  # line 5
    rows.insert(10, [])  # a blank line: line 12, a row without keys
    rows[20][header.index("DAYS_CREDIT")] = "-12x"  # line 22
    _duplicate_key(rows[30:], header)  # line 35 repeats line 32's key
    write_csv(tmp_path / "bureau.csv", header, rows)

    summary = load_directory(database_url, tmp_path)

    assert (summary.loaded, summary.rejected) == (196, 4)
    assert query("SELECT line, reason FROM load_quarantine ORDER BY line") == [
        (5, "ragged line: 18 fields, expected 17"),
        (12, "SK_ID_CURR is missing; SK_ID_BUREAU is missing"),
        (22, "DAYS_CREDIT is not a number: '-12x'"),
        (35, f"duplicate SK_ID_BUREAU {rows[30][1]} (an earlier row has it)"),
    ]


def test_parquet_files_load_like_csv(
    real_data_dir: Path, tmp_path: Path, database_url: str, query: Query
) -> None:
    applications = pa_csv.read_csv(real_data_dir / "application_train_sample.csv")
    pq.write_table(applications, tmp_path / "application_train.parquet")
    bureau = pa_csv.read_csv(real_data_dir / "heads" / "bureau.csv")
    pq.write_table(pa.concat_tables([bureau, bureau.slice(0, 1)]), tmp_path / "bureau.parquet")

    summary = load_directory(database_url, tmp_path)

    assert {t.table: (t.loaded, t.rejected) for t in summary.tables} == {
        "application_train": (5000, 0),
        "bureau": (199, 1),
    }
    assert query(
        "SELECT name_type_suite, own_car_age, region_population_relative FROM application_train "
        "WHERE sk_id_curr = 100008"
    ) == [("Spouse, partner", None, 0.035792000000000004)]
    assert query("SELECT line, reason FROM load_quarantine") == [
        (200, "duplicate SK_ID_BUREAU 5714462 (an earlier row has it)")
    ]


def test_tables_option_restricts_the_load(
    real_data_dir: Path, credit_load: Load, database_url: str, query: Query
) -> None:
    result = credit_load(str(real_data_dir), "--tables", "bureau", "--tables", "POS_CASH_BALANCE")

    assert result.exit_code == 0, result.output
    assert count(query, "bureau") == 199
    assert count(query, "pos_cash_balance") == 199
    assert count(query, "application_train") == 0
    assert "application_train" not in result.stdout
    assert "HomeCredit_columns_description.csv" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tables", "loans"], "unknown table(s): loans"),
        (["--tables", "bureau"], "no file in"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, credit_load: Load, args: list[str], message: str) -> None:
    (tmp_path / "application_test.csv").write_text("SK_ID_CURR\n")
    result = credit_load(str(tmp_path), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_two_files_for_one_table_exit_2(real_data_dir: Path, tmp_path: Path, credit_load: Load) -> None:
    shutil.copy(real_data_dir / "heads" / "bureau.csv", tmp_path / "bureau.csv")
    (tmp_path / "old").mkdir()
    shutil.copy(real_data_dir / "heads" / "bureau.csv", tmp_path / "old" / "bureau_2018.csv")

    result = credit_load(str(tmp_path))

    assert result.exit_code == 2
    assert "bureau.csv" in result.stderr and "bureau_2018.csv" in result.stderr


def test_file_that_is_not_utf8_exits_2_and_loads_nothing(
    real_data_dir: Path, tmp_path: Path, credit_load: Load, query: Query
) -> None:
    shutil.copy(real_data_dir / "heads" / "bureau_balance.csv", tmp_path / "bureau_balance.csv")
    text = (real_data_dir / "heads" / "bureau.csv").read_bytes()
    last = text.rindex(b"Consumer credit")  # far past the header: found while loading, not while checking
    (tmp_path / "bureau.csv").write_bytes(text[:last] + b"Cr\xe9dit" + text[last + len(b"Consumer credit") :])

    result = credit_load(str(tmp_path))

    assert result.exit_code == 2
    assert "bureau.csv: cannot read" in result.stderr
    assert "Traceback" not in result.output
    assert count(query, "bureau_balance") == 0
    assert count(query, "load_runs") == 0


def test_unreachable_database_exits_1_without_traceback(real_data_dir: Path) -> None:
    env = {"DATABASE_URL": "postgresql://postgres:secret@127.0.0.1:9/nowhere"}
    result = CliRunner().invoke(data_app, ["load", str(real_data_dir)], env=env)

    assert result.exit_code == 1
    assert "error: database postgresql://postgres:***@127.0.0.1:9/nowhere" in result.stderr
    assert "secret" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("application_train_sample.csv", "application_train"),
        ("POS_CASH_balance.parquet", "POS_CASH_balance"),
        ("bureau_balance.csv", "bureau_balance"),
        ("Bureau_balance_head.CSV", "bureau_balance"),
        ("bureau_2018.csv", "bureau"),
        ("HomeCredit_columns_description.csv", None),
        ("bureaus.csv", None),
    ],
)
def test_file_matching_rule(name: str, table: str | None) -> None:
    spec = table_for_file(Path(name))
    assert (spec.name if spec else None) == table


def test_migrations_create_every_table_and_rerun_cleanly(database_url: str, query: Query) -> None:
    migrate(database_url)
    migrate(database_url)
    tables = {row[0] for row in query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {t.name.lower() for t in TABLES} | {"load_runs", "load_run_files", "load_quarantine"} <= tables
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert query("SELECT version_num FROM alembic_version") == [(head,)]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_synthetic_set_loads_every_row(fmt: str, tmp_path: Path, database_url: str, query: Query) -> None:
    written = generate(500, 3, tmp_path, fmt=fmt)

    summary = load_directory(database_url, tmp_path)

    expected = {name.lower(): rows for name, rows in written.items() if name != "oracle"}
    assert {t.table: t.loaded for t in summary.tables} == expected
    assert summary.rejected == 0
    assert {name: count(query, name) for name in expected} == expected
    assert [p.name for p in summary.ignored] == [f"oracle.{fmt}"]


def test_rows_outside_their_domain_are_quarantined_with_the_rule(
    real_data_dir: Path, tmp_path: Path, credit_load: Load, query: Query
) -> None:
    header, rows = read_csv(real_data_dir / "application_train_sample.csv")
    cases = application_cases()
    for number, (field, application) in enumerate(cases):
        key = application["SK_ID_CURR"] if field == "SK_ID_CURR" else 900_000 + number
        values = {**application, "SK_ID_CURR": key, "TARGET": 0}
        rows.append([str(values.get(column, "")) for column in header])
    write_csv(tmp_path / "application_train.csv", header, rows)

    result = credit_load(str(tmp_path))

    assert result.exit_code == 0, result.output
    assert re.search(rf"^application_train +5,000 +{len(cases)} ", result.stdout, re.MULTILINE)
    reasons = query("SELECT line, reason FROM load_quarantine ORDER BY line")
    assert [line for line, _ in reasons] == [5002 + n for n in range(len(cases))]
    for (field, _), (_, reason) in zip(cases, reasons, strict=True):
        assert reason.startswith(f"{field} "), reason
    by_field = {field: reason for (field, _), (_, reason) in zip(cases, reasons, strict=True)}
    assert by_field["DAYS_BIRTH"] == "DAYS_BIRTH = -43831: must be an integer in [-43830, -5844]"
