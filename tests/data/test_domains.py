"""The input domains: every real row passes, each impossible value and broken rule is named, by both
evaluators (one request row, a frame), and docs/domains.md is the generated table."""

import csv
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from services.data.domains import DOMAINS, domain_table, frame_violations, row_violations, typed_frame
from services.data.synth import generate
from services.data.tables import TABLES_BY_NAME
from tests.domain_cases import VALID_APPLICATION, application_cases, history_cases

DOC = Path(__file__).resolve().parents[2] / "docs" / "domains.md"


def real_files(real: Path) -> dict[str, Path]:
    heads = {name: real / "heads" / f"{name}.csv" for name in TABLES_BY_NAME if name != "application_train"}
    return {"application_train": real / "application_train_sample.csv", **heads}


def test_every_column_of_every_table_has_one_domain() -> None:
    assert {name: set(d) for name, d in DOMAINS.items()} == {
        name: set(spec.columns) for name, spec in TABLES_BY_NAME.items()
    }


def test_every_real_row_passes_both_evaluators(real_data_dir: Path) -> None:
    for table, path in real_files(real_data_dir).items():
        frame = typed_frame(table, pl.read_csv(path, infer_schema=False))
        assert frame_violations(table, frame) == {}, table
        with path.open(newline="") as handle:
            rows = [_typed(table, row) for row in csv.DictReader(handle)]
        assert [row_violations(table, row) for row in rows] == [[]] * len(rows), table


@pytest.mark.parametrize("drift", [False, True])
def test_synthetic_rows_pass(tmp_path: Path, drift: bool) -> None:
    generate(1500, seed=3, out=tmp_path, drift=drift)
    for table in TABLES_BY_NAME:
        frame = typed_frame(table, pl.read_csv(tmp_path / f"{table}.csv", infer_schema=False))
        assert frame_violations(table, frame) == {}, table


@pytest.mark.parametrize(("field", "application"), application_cases())
def test_each_impossible_application_value_is_named(field: str, application: dict[str, Any]) -> None:
    [violation] = row_violations("application_test", application)
    assert (violation.field, violation.value) == (field, application[field])
    frame = typed_frame("application_test", pl.DataFrame([application]))
    [[in_frame]] = frame_violations("application_test", frame).values()
    assert in_frame.field == field
    assert in_frame.reason == violation.reason


@pytest.mark.parametrize(("table", "column", "value"), history_cases())
def test_each_impossible_history_value_is_named(table: str, column: str, value: Any) -> None:
    assert [v.field for v in row_violations(table, {column: value})] == [column]
    frame = typed_frame(table, pl.DataFrame([{column: value}]))
    assert [v.field for vs in frame_violations(table, frame).values() for v in vs] == [column]


def test_non_integers_and_sentinels() -> None:
    assert [v.field for v in row_violations("application_test", {"CNT_CHILDREN": 1.5})] == ["CNT_CHILDREN"]
    pensioner = {**VALID_APPLICATION, "DAYS_EMPLOYED": 365243}
    assert row_violations("application_test", pensioner) == []
    assert [v.field for v in row_violations("application_test", {"DAYS_EMPLOYED": 365242})] == [
        "DAYS_EMPLOYED"
    ]
    future_end = {"DAYS_CREDIT_ENDDATE": 31_000, "DAYS_ENDDATE_FACT": 10}
    assert [v.field for v in row_violations("bureau", future_end)] == ["DAYS_ENDDATE_FACT"]


def test_frame_nulls_break_only_non_nullable_columns() -> None:
    frame = typed_frame(
        "application_train", pl.DataFrame([{"SK_ID_CURR": 1, "TARGET": None, "EXT_SOURCE_1": None}])
    )
    [violations] = frame_violations("application_train", frame).values()
    assert [v.field for v in violations] == ["TARGET"]


def test_the_domain_table_in_the_docs_is_current() -> None:
    assert DOC.read_text() == domain_table(), "run: python -m services.data.domains > docs/domains.md"


def _typed(table: str, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a request carries it: numbers as numbers, categories as text, empty fields absent."""
    domains = DOMAINS[table]
    return {k: v if domains[k].kind == "category" else float(v) for k, v in row.items() if v != ""}
