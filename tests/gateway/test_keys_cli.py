"""`credit keys create|list|revoke` on a fresh Postgres database: the key is shown once, stored hashed."""

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from services.cli import app
from services.common.db import make_engine
from services.gateway.key_store import find_key, hash_key, key_id_of, matches


@pytest.fixture
def credit(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def test_create_list_revoke(credit: CliRunner, database_url: str) -> None:
    created = credit.invoke(app, ["keys", "create", "--name", "screens", "--scopes", "score,explain"])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    key_id = key_id_of(plain)
    assert key_id is not None
    engine = make_engine(database_url)
    record = find_key(engine, key_id)
    assert record is not None and record.scopes == ("score", "explain") and matches(record, plain)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalar_one()
    assert stored == hash_key(plain) and plain not in stored

    listed = credit.invoke(app, ["keys", "list"])
    assert key_id in listed.output and "screens" in listed.output and plain not in listed.output

    assert credit.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert find_key(engine, key_id).revoked_at is not None  # type: ignore[union-attr]
    again = credit.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1 and "no active key" in again.output
    engine.dispose()


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--scopes", "score,admin"], "scopes must be among"), (["--rate-limit", "fast"], "is not like")],
)
def test_bad_options_are_refused_with_a_clear_message(
    credit: CliRunner, options: list[str], message: str
) -> None:
    result = credit.invoke(app, ["keys", "create", "--name", "x", *options])
    assert result.exit_code == 2
    assert message in result.output
