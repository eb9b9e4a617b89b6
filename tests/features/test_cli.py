"""`credit features build | schema | docs` through the typer group the `credit` CLI registers."""

import json

from typer.testing import CliRunner

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.cli import features_app


def test_build_prints_its_report(loaded_db: tuple[str, list[int]]) -> None:
    url, ids = loaded_db
    result = CliRunner().invoke(features_app, ["build"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["clients"], report["features"]) == (len(ids), len(NAMES))
    assert report["feature_set_hash"] == FEATURE_SET_HASH


def test_build_against_an_unreachable_database_fails_with_a_message() -> None:
    result = CliRunner().invoke(
        features_app, ["build", "--database-url", "postgresql://postgres@127.0.0.1:1/x"]
    )
    assert result.exit_code == 1
    assert "features build failed" in result.stderr
    assert "Traceback" not in result.output


def test_docs_check_passes_on_the_committed_page() -> None:
    result = CliRunner().invoke(features_app, ["docs", "--check"])
    assert result.exit_code == 0, result.output
