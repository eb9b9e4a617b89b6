"""`credit model approve|promote|report|rollback|history|list`: what a user types and reads; refusals are
one line naming the rule, never a traceback."""

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.model import registry
from services.model.model_store import resolve_alias
from tests.model.versions import fit, register

FAST = ["--gate", "bootstrap_rounds=100", "--gate", "max_changed_share=0.3"]


def credit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_lifecycle_from_the_command_line(tracking_uri: str, audit_db: str) -> None:
    first, second = register(fit(seed=1), author="alice"), register(fit(seed=2), author="alice")
    code, out = credit("model", "promote", first, "--by", "carol", *FAST)
    assert code == 1 and f"version {first} has no approval" in out
    code, out = credit("model", "approve", first, "--by", "alice", "--note", "mine")
    assert code == 1 and "alice trained version" in out
    assert credit("model", "approve", first, "--by", "bob", "--note", "ok")[0] == 0
    code, out = credit("model", "promote", first, "--by", "carol", *FAST)
    assert code == 0 and f"version {first} is now 'champion' (was none)" in out

    code, out = credit("model", "report", second, *FAST)
    assert code == 0 and f"credit-scoring {second} vs champion {first}" in out and "| discrimination |" in out
    assert credit("model", "approve", second, "--by", "bob", "--note", "ok")[0] == 0
    code, out = credit("model", "promote", second, "--by", "carol", "--force", *FAST)
    assert code == 1 and "--force and --justification TEXT go together" in out
    assert credit("model", "promote", second, "--by", "carol", *FAST)[0] == 0

    code, out = credit("model", "list")
    assert code == 0
    listed = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert listed[second][0] == "challenger,champion" and listed[second][-2:] == ["alice", "bob"]

    code, out = credit("model", "rollback", "--by", "erin", "--note", "latency regression")
    assert code == 0 and f"version {first} is 'champion' again (was {second})" in out
    assert resolve_alias(registry.CHAMPION) == first
    code, out = credit("model", "history")
    events = [line.split()[2:4] for line in out.splitlines()]
    assert events == [["approved", f"v{first}"], ["promoted", f"v{first}"], ["approved", f"v{second}"],
                      ["promoted", f"v{second}"], ["rolled_back", f"v{first}"]]  # fmt: skip
    assert "latency regression" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "promote", "999", "--by", "carol"], "has no version 999"),
        (["model", "approve", "999", "--by", "bob", "--note", "x"], "has no version 999"),
        (["model", "report", "1", "--gate", "max_psi"], "expected NAME=VALUE"),
        (["model", "report", "1", "--gate", "max_psi=high"], "max_psi: Input should be a valid number"),
        (["model", "report", "1", "--gate", "psi=0.1"], "psi: Extra inputs are not permitted"),
        (["model", "rollback", "--by", "erin", "--note", "x"], "no earlier champion"),
    ],
)
def test_bad_requests_are_one_clear_line(
    tracking_uri: str, audit_db: str, args: list[str], message: str
) -> None:
    register(fit(seed=1), author="alice")
    code, out = credit(*args)
    assert code == 1 and message in out
