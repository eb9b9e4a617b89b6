"""The governed lifecycle of a model version: trained (author recorded) → approved by someone else →
promoted through the gates (or forced past them with a written justification) → rolled back if need be.

Each step checks its rule, then changes the registry (tags, the `champion` alias) and appends an audit row
(services/model/audit.py). The registry's tags say the current state; the audit says how it got there.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from services.model import audit, registry
from services.model.audit import Event
from services.model.gates import GateSettings
from services.model.model_store import resolve_alias
from services.model.promotion import PromotionReport, evaluate, log_report


class LifecycleRefused(RuntimeError):
    """A lifecycle rule forbids the step; the message names the rule and what would satisfy it."""


@dataclass(frozen=True)
class Promotion:
    previous: str | None
    report: PromotionReport
    artifact: str
    forced: bool


def _named(value: str, what: str) -> str:
    if not value.strip():
        raise LifecycleRefused(f"{what} must not be empty")
    return value.strip()


def approve(database_url: str, version: str, by: str, note: str) -> None:
    """Four eyes: a named reviewer who is not the version's author approves it, with a note."""
    by, note = _named(by, "--by (the approver)"), _named(note, "--note")
    author = registry.version_tags(version).get("author")
    if author is None:
        raise LifecycleRefused(f"version {version} has no recorded author: a second person cannot be told")
    if by.casefold() == author.casefold():
        raise LifecycleRefused(f"{by} trained version {version}: its approver must be someone else")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    registry.set_tags(version, {"approved_by": by, "approval_note": note, "approved_at": at})
    audit.record(database_url, Event.APPROVED, version, by, {"note": note, "author": author})


def report(
    version: str, settings: GateSettings, database_url: str, tracking_uri: str
) -> tuple[PromotionReport, str]:
    """Compute the gates and log the report on the version's run; returns it and its artifact path."""
    result = evaluate(version, settings, database_url, tracking_uri)
    return result, log_report(result, tracking_uri)


def promote(
    version: str,
    by: str,
    settings: GateSettings,
    database_url: str,
    tracking_uri: str,
    justification: str | None = None,
) -> Promotion:
    """`champion` → `version` if it is approved and its gates pass; failed gates need `justification`
    (a forced promotion, recorded with it). An approval is never optional."""
    by = _named(by, "--by (who promotes)")
    if justification is not None:
        justification = _named(justification, "--justification")
    tags = registry.version_tags(version)
    if "approved_by" not in tags:
        raise LifecycleRefused(
            f"version {version} has no approval: `credit model approve {version} --by NAME --note TEXT` "
            "by someone other than its author first"
        )
    with audit.champion_lock(database_url):  # the report compares with the champion it replaces
        if resolve_alias(registry.CHAMPION) == version:
            raise LifecycleRefused(f"version {version} is the champion already")
        result, artifact = report(version, settings, database_url, tracking_uri)
        if not result.passed and justification is None:
            raise LifecycleRefused(
                f"version {version} fails the gates {', '.join(result.failed)} "
                f"(report: {artifact} on its run); `--force --justification TEXT` promotes it anyway, "
                "recorded"
            )
        forced = not result.passed
        previous = registry.set_champion(version)
        detail = {
            "previous": previous,
            "report": artifact,
            "failed_gates": result.failed,
            "approved_by": tags["approved_by"],
            "justification": justification,
        }
        audit.record(database_url, Event.FORCED if forced else Event.PROMOTED, version, by, detail)
    return Promotion(previous, result, artifact, forced)


def rollback(database_url: str, by: str, note: str) -> tuple[str, str]:
    """`champion` back to the one before it, as the audit history tells; returns (restored, left)."""
    by, note = _named(by, "--by"), _named(note, "--note")
    with audit.champion_lock(database_url):
        line = audit.champion_line(audit.history(database_url))
        current = resolve_alias(registry.CHAMPION)
        if len(line) < 2:
            raise LifecycleRefused("the audit history holds no earlier champion to return to")
        if line[-1] != current:
            raise LifecycleRefused(
                f"the champion alias points at version {current}, but the audit history's champion is "
                f"{line[-1]}: the alias was moved outside `credit model promote`; promote the right version"
            )
        restored = line[-2]
        registry.set_champion(restored)
        audit.record(database_url, Event.ROLLED_BACK, restored, by, {"from": current, "note": note})
    return restored, current
