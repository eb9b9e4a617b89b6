"""`credit train` and `credit score` on synthetic tables loaded into a real Postgres, and bad input."""

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from services.cli import app
from services.common.db import make_engine
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_store.build import build

FAST = ["--trials", "0", "--folds", "3", "--threads", "1"]


def load_synthetic(database_url: str, directory: Path, clients: int) -> Path:
    generate(clients, seed=11, out=directory)
    load_directory(database_url, directory)
    return directory


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.fixture
def env(database_url: str, tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def test_train_then_score_file_and_client(env: str, tmp_path: Path) -> None:
    data = load_synthetic(env, tmp_path / "synth", clients=600)
    build(env)
    code, output = invoke(["train", *FAST, "--experiment", "test-cli"])
    assert code == 0, output
    assert "registered credit-scoring version 1 as 'challenger'" in output

    applications = pl.read_csv(data / "application_test.csv").with_columns(EXTRA=pl.lit("ignored"))
    impossible = applications.head(2).with_columns(
        SK_ID_CURR=pl.Series([1, 2]), DAYS_BIRTH=pl.Series([120, -14_000]), AMT_ANNUITY=pl.Series([1.0, 9e9])
    )
    pl.concat([applications, impossible]).write_csv(tmp_path / "input.csv")
    out = tmp_path / "out.csv"
    code, output = invoke(
        ["score", "--input", str(tmp_path / "input.csv"), "--output", str(out), "--alias", "challenger"]
    )
    assert code == 0, output
    assert f"scored {applications.height} applications" in output
    assert "2 outside their domain got no score" in output
    everything = pl.read_csv(out)
    assert everything.columns == ["SK_ID_CURR", "PD", "DECISION", "MODEL_VERSION", "error"]
    assert everything["SK_ID_CURR"].to_list() == [*applications["SK_ID_CURR"], 1, 2]
    scored, refused = everything.head(applications.height), everything.tail(2)
    assert scored["PD"].is_between(0, 1, closed="none").all()
    assert set(scored["DECISION"]) <= {"approved", "review", "refused"}
    assert scored["error"].is_null().all()
    assert set(everything["MODEL_VERSION"]) == {1}
    assert refused["PD"].is_null().all() and refused["DECISION"].is_null().all()
    assert refused["error"][0].startswith("DAYS_BIRTH = 120: must be an integer in")
    assert refused["error"][1].startswith("AMT_ANNUITY = 9000000000: must satisfy AMT_ANNUITY <= AMT_CREDIT")

    client = int(applications["SK_ID_CURR"][0])
    result = CliRunner().invoke(app, ["score", "--client", str(client), "--alias", "challenger"])
    assert result.exit_code == 0, result.output
    one = json.loads(result.stdout)
    assert one["SK_ID_CURR"] == client
    assert one["PD"] == pytest.approx(scored["PD"][0])  # raw application and stored client agree
    assert one["MODEL_VERSION"] == "1"

    code, output = invoke(["score", "--client", "999999999", "--alias", "challenger"])
    assert (code, "client 999999999 is unknown" in output) == (1, True)
    offers_resubmitted_as_they_are_are_approved(applications, scored, tmp_path)


def offers_resubmitted_as_they_are_are_approved(
    applications: pl.DataFrame, scored: pl.DataFrame, tmp_path: Path
) -> None:
    """`credit recourse` for declined clients, nearest the threshold first: one JSON answer each, offers or an
    honest "no offer"; any offer, written into the application and scored by `credit score --input` (the
    batch path, its domain checks included), is approved. (This small model rarely moves with the amount;
    tests/explainer/test_recourse.py proves the offers on a model that does.)"""
    declined = scored.filter(pl.col("DECISION") != "approved").sort("PD")["SK_ID_CURR"].to_list()
    assert declined, "the test set has no declined application"
    resubmitted = []
    for client in declined[:5]:
        result = CliRunner().invoke(app, ["recourse", "--client", str(client), "--alias", "challenger"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert (answer["client_id"], answer["model_version"]) == (client, "1")
        assert answer["statement"].startswith("No offer") == (not answer["offers"])
        application = applications.filter(pl.col("SK_ID_CURR") == client).drop("EXTRA")
        for offer in answer["offers"]:
            assert set(offer["changes"]) <= {"AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"}, offer
            changed = {field: pl.lit(value) for field, value in offer["changes"].items()}
            resubmitted.append(application.with_columns(**changed))
    if resubmitted:
        pl.concat(resubmitted, how="vertical_relaxed").write_csv(tmp_path / "offers.csv")
        out = tmp_path / "offers_scored.csv"
        code, output = invoke(
            ["score", "--input", str(tmp_path / "offers.csv"), "--output", str(out), "--alias", "challenger"]
        )
        assert code == 0, output
        assert set(pl.read_csv(out)["DECISION"]) == {"approved"}
    code, output = invoke(["recourse", "--client", "999999999", "--alias", "challenger"])
    assert (code, "client 999999999 is unknown" in output) == (1, True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("UPDATE application_train SET target = 0", "and 0 ones"),
        ("DELETE FROM application_train WHERE sk_id_curr >= 100100", "only"),
        ("UPDATE application_train SET target = NULL", "no labelled applications"),
    ],
)
def test_training_on_unusable_targets_exits_with_a_clear_message(
    env: str, tmp_path: Path, damage: str, message: str
) -> None:
    load_synthetic(env, tmp_path / "synth", clients=300)
    with make_engine(env).begin() as conn:
        conn.execute(text(damage))
    code, output = invoke(["train", *FAST])
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_training_before_anything_is_loaded_exits_with_a_clear_message(env: str) -> None:
    code, output = invoke(["train", *FAST])
    assert code == 1
    assert "cannot read TARGET from application_train" in output


def test_scoring_a_file_without_ids_is_a_clear_error(env: str, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("AMT_CREDIT,AMT_ANNUITY\n1000,100\n")
    code, output = invoke(
        ["score", "--input", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "o.csv")]
    )
    assert code == 1
    assert "has no SK_ID_CURR column" in output
