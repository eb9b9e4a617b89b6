"""The compiled evaluator (compute_vectors) against the Polars `compute_features` of the build.

Counts, codes and flags must be equal exactly; every other value to 1e-12 relative (numpy and Polars
add floats in different orders; min and max, and sums of whole numbers, come out exact anyway), a
standard deviation to 1e-12 of its values' magnitude (its sibling mean): Polars' one-pass variance loses
digits when the spread is tiny against the values (paid/owed ratios all near 1: std 3.5e-6 differing
by 9e-18). A value is missing in one exactly where it is missing in the other.
"""

import numpy as np
import polars as pl
import psycopg2.extensions
import pytest

from services.common.db import raw_connection
from services.data.synth import generate
from services.feature_definitions import catalog
from services.feature_definitions.catalog import KINDS, NAMES, compute_features
from services.feature_definitions.compiled import Batch, Table, compute_vectors
from services.feature_definitions.raw import (
    HISTORY_TABLES,
    RawTables,
    empty_history,
    frame_from_rows,
    polars_schema,
    read_client_rows,
    read_raw,
    spec_for,
)
from services.feature_definitions.spec import DAYS_SENTINEL
from services.feature_definitions.vocabularies import VOCABULARIES
from services.feature_store.files import read_table
from services.feature_store.online import compute_payloads, features_for_client

_EXACT = np.array([KINDS[n] != "continuous" or n.endswith("_count") for n in NAMES])
_STD = np.array([n.endswith("_std") for n in NAMES])
_STD_MEAN = [NAMES.index(n.removesuffix("_std") + "_mean") for n in NAMES if n.endswith("_std")]
RTOL = 1e-12


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(actual[:, _EXACT], expected[:, _EXACT])
    np.testing.assert_allclose(actual[:, ~_STD], expected[:, ~_STD], rtol=RTOL, atol=0, equal_nan=True)
    scale = np.fmax(np.abs(expected[:, _STD]), np.abs(expected[:, _STD_MEAN]))
    error = np.abs(actual[:, _STD] - expected[:, _STD])
    assert not (error > RTOL * scale).any(), f"std off by {np.nanmax(error / scale)} of its values' scale"


def batch_of(raw: RawTables) -> Batch:
    applications = Table.of_frame("application", raw.application, np.arange(raw.application.height))
    return Batch.of_raw(applications, {t: getattr(raw, t) for t in HISTORY_TABLES})


def expected(raw: RawTables) -> np.ndarray:
    return compute_features(raw).select(NAMES).to_numpy().astype(np.float64)


def raw_of(application: list[dict[str, object]], **history: list[dict[str, object]]) -> RawTables:
    tables = empty_history()
    tables.update({name: frame_from_rows(name, rows) for name, rows in history.items()})
    return RawTables(application=frame_from_rows("application", application), **tables)


def test_real_rows_in_one_batch_and_one_application_at_a_time(joined_db: tuple[str, list[int]]) -> None:
    url, ids = joined_db
    raw = read_raw(url)
    assert min(getattr(raw, t).height for t in HISTORY_TABLES) > 0
    reference = compute_features(raw)
    assert_same(compute_vectors(batch_of(raw)), reference.select(NAMES).to_numpy())
    order = {client_id: i for i, client_id in enumerate(reference["sk_id_curr"].to_list())}
    with raw_connection(url) as conn:
        for client_id in ids[:40]:
            one = read_client_rows(conn, [client_id])
            assert_same(
                compute_vectors(batch_of(one)), reference.select(NAMES).to_numpy()[[order[client_id]]]
            )


def test_online_paths_read_stored_rows_in_one_round_trip_and_match(joined_db: tuple[str, list[int]]) -> None:
    url, ids = joined_db
    chosen = ids[:25]
    with raw_connection(url) as conn:
        reference = compute_features(read_client_rows(conn, chosen)).sort("sk_id_curr")
        computed = {i: features_for_client(conn, i) for i in chosen}
        assert {c.origin for c in computed.values() if c is not None} == {"computed"}
        applications = _stored_applications(conn, chosen)
        from_payloads, _ = compute_payloads(conn, [(a, None) for a in applications])
    want = reference.select(NAMES).to_numpy()
    got = np.stack([computed[i].values for i in reference["sk_id_curr"].to_list()])  # type: ignore[union-attr]
    assert_same(got, want)
    by_id = {a["SK_ID_CURR"]: v for a, v in zip(applications, from_payloads, strict=True)}
    assert_same(np.stack([by_id[i] for i in reference["sk_id_curr"].to_list()]), want)


def _stored_applications(conn: psycopg2.extensions.connection, ids: list[int]) -> list[dict[str, object]]:
    """Applications as an API caller sends them: Kaggle names, nulls left out."""
    names = {c.lower(): c for c in spec_for("application").columns}
    rows = read_client_rows(conn, ids).application.to_dicts()
    return [{names[k]: v for k, v in row.items() if v is not None} for row in rows]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> RawTables:
    """300 synthetic clients with their history (services.data.synth), read like the build reads them."""
    folder = tmp_path_factory.mktemp("synthetic")
    generate(300, 11, folder)
    application = pl.concat(
        [
            read_table(folder / f"{name}.csv", "application").select(list(polars_schema("application")))
            for name in ("application_train", "application_test")
        ]
    )
    return RawTables(
        application=application,
        **{t: read_table(folder / f"{spec_for(t).name}.csv", t) for t in HISTORY_TABLES},
    )


def test_synthetic_clients(synthetic: RawTables) -> None:
    assert_same(compute_vectors(batch_of(synthetic)), expected(synthetic))


def test_synthetic_clients_one_at_a_time(synthetic: RawTables) -> None:
    for client_id in synthetic.application["sk_id_curr"].head(30).to_list():
        one = _client(synthetic, client_id)
        assert_same(compute_vectors(batch_of(one)), expected(one))


def _client(raw: RawTables, client_id: int) -> RawTables:
    bureau = raw.bureau.filter(pl.col("sk_id_curr") == client_id)
    tables = {
        t: getattr(raw, t).filter(pl.col("sk_id_curr") == client_id)
        for t in HISTORY_TABLES
        if t != "bureau_balance"
    }
    balance = raw.bureau_balance.filter(pl.col("sk_id_bureau").is_in(bureau["sk_id_bureau"].implode()))
    return RawTables(
        application=raw.application.filter(pl.col("sk_id_curr") == client_id),
        bureau_balance=balance,
        **tables,
    )


def test_applications_without_history(synthetic: RawTables) -> None:
    raw = RawTables(application=synthetic.application.head(50), **empty_history())
    vectors = compute_vectors(Batch.of_rows(raw.application.to_dicts(), {}))
    assert np.isnan(vectors[:, [not n.startswith("app_") for n in NAMES]]).all()
    assert_same(vectors, expected(raw))


def test_some_tables_empty_some_applications_without_rows(synthetic: RawTables) -> None:
    """Only bureau and instalments have rows, and only for every other application."""
    ids = synthetic.application["sk_id_curr"].head(40).to_list()[::2]
    kept = {"bureau", "bureau_balance", "installments_payments"}
    tables = {
        t: getattr(synthetic, t) if t in kept else getattr(synthetic, t).head(0) for t in HISTORY_TABLES
    }
    tables["bureau"] = tables["bureau"].filter(pl.col("sk_id_curr").is_in(ids))
    tables["installments_payments"] = tables["installments_payments"].filter(pl.col("sk_id_curr").is_in(ids))
    raw = RawTables(application=synthetic.application.head(40), **tables)
    assert_same(compute_vectors(batch_of(raw)), expected(raw))


def _id_columns(table: str) -> list[str]:
    return [c for c in polars_schema(table) if c.startswith("sk_id_")]


def test_nulls_everywhere() -> None:
    """Rows carrying their ids and nothing else, in every table, next to an application of only an id."""
    bureau_ids = {"sk_id_curr": 1, "sk_id_bureau": 10}
    history = {table: [{c: bureau_ids.get(c, 5) for c in _id_columns(table)}] * 2 for table in HISTORY_TABLES}
    history["bureau"].append({"sk_id_curr": 1})  # a credit without an id: joins no monthly status
    history["bureau_balance"].append({})  # a month without a credit id
    for table in ("pos_cash_balance", "credit_card_balance"):
        history[table].append({"sk_id_curr": 1})  # a loan month without a loan id
    raw = raw_of([{"sk_id_curr": 1}], **history)
    vectors = compute_vectors(batch_of(raw))
    assert_same(vectors, expected(raw))
    assert vectors[0, NAMES.index("bureau_all_count")] == 3.0


def test_unseen_categories_and_the_days_sentinel() -> None:
    """Values outside every vocabulary and status list, and 365243 in every DAYS_* column."""
    application = {c: "never seen" for c in VOCABULARIES} | {
        c: DAYS_SENTINEL for c in polars_schema("application") if c.startswith("days_")
    }
    history: dict[str, list[dict[str, object]]] = {}
    for table in HISTORY_TABLES:
        schema = polars_schema(table)
        row = {
            c: ("never seen" if t == pl.String else DAYS_SENTINEL if c.startswith("days_") else 3.0)
            for c, t in schema.items()
        }
        rows = [
            {"sk_id_curr": 2, "sk_id_bureau": 20, "sk_id_prev": 200},
            {"sk_id_curr": 2, "sk_id_bureau": 21, "sk_id_prev": 201, "status": "3"},
        ]
        history[table] = [{c: v for c, v in (row | ids).items() if c in schema} for ids in rows]
    raw = raw_of([{**application, "sk_id_curr": 2}], **history)
    vectors = compute_vectors(batch_of(raw))
    assert_same(vectors, expected(raw))
    assert vectors[0, NAMES.index("app_code_gender_code")] == len(VOCABULARIES["code_gender"])
    assert np.isnan(vectors[0, NAMES.index("app_days_employed")])


def test_zero_denominators_duplicate_ids_and_orphan_months() -> None:
    """Ratios over zeros, two credits sharing an id, monthly rows of a credit the client does not have."""
    bureau = [
        {
            "sk_id_curr": 3,
            "sk_id_bureau": 30,
            "credit_active": "Active",
            "amt_credit_sum": 0.0,
            "amt_credit_sum_debt": 0.0,
            "days_credit": -10.0,
        },
        {
            "sk_id_curr": 3,
            "sk_id_bureau": 30,
            "credit_active": "Closed",
            "amt_credit_sum": 5.0,
            "amt_credit_sum_debt": 2.5,
            "days_credit": -400.0,
        },
    ]
    months = [{"sk_id_bureau": 30, "months_balance": float(-m), "status": s} for m, s in enumerate("0X5C1")]
    months.append({"sk_id_bureau": 99, "months_balance": -1.0, "status": "4"})
    pos = [
        {
            "sk_id_curr": 3,
            "sk_id_prev": p,
            "months_balance": float(m),
            "cnt_instalment": 0.0,
            "cnt_instalment_future": 1.0,
        }
        for p in (1, 1, 2)
        for m in (-1, -3)
    ]
    raw = raw_of(
        [{"sk_id_curr": 3, "amt_income_total": 0.0, "amt_credit": 0.0, "days_birth": 0.0}],
        bureau=bureau,
        bureau_balance=months,
        pos_cash_balance=pos,
    )
    assert_same(compute_vectors(batch_of(raw)), expected(raw))


def test_aggregate_structure_builds_the_expression_hashed() -> None:
    """The recorded (source, condition, aggregation) is what the feature's expression computes."""
    structured = [f for f in catalog.FEATURES if f.aggregate is not None]
    assert len(structured) > 400
    for feature in structured:
        assert feature.aggregate is not None
        assert feature.aggregate.expr().meta.serialize(format="json") == feature.expr.meta.serialize(
            format="json"
        )
