"""`credit model import` (issue #21 item 6): a booster trained in a notebook on a subset of the platform's
features enters the lifecycle on a real Postgres feature store and a real MLflow registry: registered as
the challenger with training's metrics, reference sample and importance, then report, four eyes,
promotion; refused, naming them, when it uses features the platform cannot produce."""

from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from services.cli import app
from services.explainer.shap_values import vector_for
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.store import FeatureMatrix, read_materialised
from services.model import audit, lifecycle, registry
from services.model.audit import Event
from services.model.gates import GateSettings, Status
from services.model.model import ScoringModel
from services.model.model_store import load_version, resolve_alias
from services.model.reference import reference_sample
from services.scoring.batch_scoring import score_features
from services.scoring.serving import InvalidFeatures, LoadedModel
from services.training.importing import ImportRefused, import_model
from tests.model.notebook import OTHER_SUBSET, SUBSET, fill_store, notebook_booster

GATES = GateSettings(bootstrap_rounds=100)


@pytest.fixture
def store(audit_db: str) -> str:
    fill_store(audit_db)
    return audit_db


def test_a_subset_model_is_imported_reported_approved_and_promoted(tracking_uri: str, store: str) -> None:
    booster, held_out = notebook_booster(store)
    done = import_model(booster, store, holdout=held_out, author="alice", experiment="imports")
    version = done.version
    assert resolve_alias(registry.CHALLENGER) == version and done.validation == "held-out"
    tags = registry.version_tags(version)
    assert tags["author"] == "alice" and tags["origin"] == "import"
    assert float(tags["val_roc_auc"]) > 0.7 and float(tags["test_roc_auc"]) > 0.7 and "review_low" in tags
    assert tags["feature_set_hash"] == FEATURE_SET_HASH
    run = MlflowClient().get_run(done.run_id)
    assert {"val_roc_auc", "test_cost_per_app", "threshold", "review_share"} <= run.data.metrics.keys()
    assert run.data.params["num_features"] == str(len(SUBSET))
    logged = {a.path for a in MlflowClient().list_artifacts(done.run_id)}
    assert {"shap_importance.csv", "reference_sample.parquet", "features.json", "plots", "scoring"} <= logged
    model = load_version(version)
    assert model.feature_names == SUBSET and model.review is not None and model.profile is not None
    assert set(done.trained.importance["feature"]) == set(SUBSET)
    reference = reference_sample(tracking_uri, version)  # every platform feature: any champion scores it
    assert set(NAMES) <= set(reference.columns) and reference.height == len(held_out) // 5
    assert [(r.event, r.actor) for r in audit.history(store, version)] == [(Event.IMPORTED, "alice")]
    assert_served_by_name(model, store, held_out[:3])

    result, artifact = lifecycle.report(version, GATES, store, tracking_uri)
    assert result.passed, result.to_markdown()
    assert artifact == f"promotion/report-{version}-vs-none.json"
    with pytest.raises(lifecycle.LifecycleRefused, match="must be someone else"):
        lifecycle.approve(store, version, "alice", "my own")
    lifecycle.approve(store, version, "bob", "report read")
    assert lifecycle.promote(version, "carol", GATES, store, tracking_uri).previous is None
    assert resolve_alias(registry.CHAMPION) == version

    other, ids = notebook_booster(store, OTHER_SUBSET)  # uses a feature the champion does not
    second = import_model(other, store, holdout=ids, author="dave", experiment="imports").version
    report, _ = lifecycle.report(second, GATES, store, tracking_uri)
    statuses = {g.name: g.status for g in report.gates}
    assert report.champion == version and statuses["discrimination"] != Status.NOT_APPLICABLE, (
        report.to_markdown()
    )
    assert "cannot be scored" not in report.to_markdown()


def test_out_of_fold_scores_are_accepted_as_the_validation_rows(tracking_uri: str, store: str) -> None:
    booster, held_out = notebook_booster(store)
    features = read_materialised(store, held_out)
    scores = booster.predict(features.values[:, [NAMES.index(n) for n in SUBSET]])
    predictions = pl.DataFrame({"SK_ID_CURR": features.client_ids, "SCORE": scores})
    done = import_model(booster, store, predictions=predictions, author="alice")
    assert (
        done.validation == "out-of-fold"
        and registry.version_tags(done.version)["validation"] == "out-of-fold"
    )


def test_a_model_using_features_the_platform_cannot_produce_is_refused_naming_them() -> None:
    x = np.random.default_rng(0).normal(size=(200, 3))
    names = ["app_ext_source_2", "notebook_ratio", "Column_3"]
    booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(x, x[:, 0] > 0, feature_name=names), 3
    )
    # refused before any data is read: the database named here does not exist
    with pytest.raises(ImportRefused) as refused:
        import_model(booster, "postgresql://nobody@127.0.0.1:1/none", holdout=[1], author="alice")
    assert str(refused.value) == (
        "the model uses 2 feature(s) the platform cannot produce: notebook_ratio, Column_3"
    )
    gender = lgb.train(
        {"objective": "binary", "verbose": -1},
        lgb.Dataset(
            x, x[:, 0] > 0, feature_name=["app_ext_source_2", "app_code_gender_code", "app_age_years"]
        ),
        3,
    )
    with pytest.raises(ImportRefused, match="uses app_code_gender_code: allowed only with include_gender"):
        import_model(gender, "postgresql://nobody@127.0.0.1:1/none", holdout=[1], author="alice")


def assert_served_by_name(model: ScoringModel, store: str, client_ids: list[int]) -> None:
    """The scoring service, the explainer and batch scoring take the feature set's full vectors (what the
    features service returns) and pick out the model's features by name."""
    features = read_materialised(store, client_ids)
    rows = [dict(zip(NAMES, map(float, v), strict=True)) for v in features.values]
    expected = model.predict_pd(model.columns_of(features.values, NAMES))

    served = LoadedModel("1", "champion", model, {}, frozenset(NAMES))
    matrix = served.matrix([(f"instances.{i}", row) for i, row in enumerate(rows)])
    assert np.allclose(served.predict_pd(matrix), expected)
    with pytest.raises(InvalidFeatures, match=r"unknown feature.*: bogus"):
        served.matrix([("instances.0", {**rows[0], "bogus": 1.0})])
    with pytest.raises(InvalidFeatures, match=r"missing feature.*: app_amt_credit"):
        served.matrix([("instances.0", {k: v for k, v in rows[0].items() if k != "app_amt_credit"})])

    assert np.array_equal(vector_for(model.feature_names, rows[0]), matrix[0], equal_nan=True)
    batch = score_features(
        model, "1", FeatureMatrix(features.client_ids, features.values, NAMES, FEATURE_SET_HASH)
    )
    assert np.allclose(batch["PD"].to_numpy(), expected)


def credit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_export_then_import_from_the_command_line(tracking_uri: str, store: str, tmp_path: Path) -> None:
    code, out = credit("features", "export", "--output", str(tmp_path / "x.parquet"), "--feature", SUBSET[0])
    assert code == 0 and f"x 1 features to {tmp_path / 'x.parquet'}" in out
    exported = pl.read_parquet(tmp_path / "x.parquet")
    assert exported.columns == ["SK_ID_CURR", "TARGET", SUBSET[0]] and exported.height == 5000

    booster, held_out = notebook_booster(store)
    booster.save_model(tmp_path / "model.txt")
    pl.DataFrame({"SK_ID_CURR": held_out}).write_csv(tmp_path / "holdout.csv")
    holdout = str(tmp_path / "holdout.csv")
    code, out = credit(
        "model", "import", str(tmp_path / "model.txt"), "--holdout", holdout, "--author", "alice"
    )
    assert code == 0 and "registered credit-scoring version 1 as 'challenger' (4 features" in out
    assert registry.version_tags("1")["author"] == "alice"

    code, out = credit("model", "import", str(tmp_path / "model.txt"))
    assert code == 1 and "give the validation rows" in out
    lgb.train({"objective": "binary", "verbose": -1},
              lgb.Dataset(np.eye(30), np.arange(30) % 2, feature_name=[f"f{i}" for i in range(30)]), 2
              ).save_model(tmp_path / "bad.txt")  # fmt: skip
    code, out = credit(
        "model", "import", str(tmp_path / "bad.txt"), "--holdout", str(tmp_path / "holdout.csv")
    )
    assert code == 1 and "error: the model uses 30 feature(s) the platform cannot produce: f0, f1" in out
    assert len(out.strip().splitlines()) == 1
    code, out = credit("features", "export", "--output", str(tmp_path / "y.parquet"), "--feature", "nope")
    assert code == 1 and "no such feature(s): nope" in out
