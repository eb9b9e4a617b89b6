"""`credit model ...`: registered versions, their promotion reports, approvals, promotions, rollbacks and
the audit history (the rules: services/model/lifecycle.py)."""

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from services.common.cli import user_errors
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.model import audit, lifecycle, registry
from services.model.audit import current_actor
from services.model.gates import GateSettings
from services.model.mlflow_uri import TrackingUnavailable, connect
from services.model.model_store import ModelVersionNotFound
from services.model.policy import REVIEW_SHARE
from services.model.reference import ModelUnreadable

model_app = typer.Typer(no_args_is_help=True, help="Registered model versions and their lifecycle.")


class GateSettingError(ValueError):
    """A `--gate NAME=VALUE` (or GATES_* variable) that is not a known gate setting of the right type."""


USER_ERRORS = (
    TrackingUnavailable,
    registry.RegistryError,
    lifecycle.LifecycleRefused,
    ModelVersionNotFound,
    ModelUnreadable,
    GateSettingError,
)
GATE_HELP = "A gate threshold, NAME=VALUE (e.g. max_psi=0.2); repeatable; env GATES_<NAME> too."
By = Annotated[str | None, typer.Option("--by", help="Who acts. Default: $CREDIT_ACTOR, else the OS user.")]
Gates = Annotated[list[str] | None, typer.Option("--gate", help=GATE_HELP)]


def gate_settings(pairs: list[str] | None) -> GateSettings:
    """Environment defaults overridden by `--gate` pairs; a bad name or value names itself."""
    overrides = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise GateSettingError(f"--gate {pair!r}: expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    try:
        return GateSettings(**overrides)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        known = ", ".join(GateSettings.model_fields)
        raise GateSettingError(f"gate settings: {problems} (known: {known})") from None


def _connect() -> CommonSettings:
    settings = CommonSettings()
    connect(settings.mlflow_tracking_uri)
    migrate(settings.database_url)
    return settings


@model_app.command("report")
def report_command(
    version: str,
    gate: Gates = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON instead of Markdown.")] = False,
) -> None:
    """Compute VERSION's promotion gates against the champion, log the report on its run, print it."""
    with user_errors(*USER_ERRORS):
        settings = _connect()
        result, artifact = lifecycle.report(
            version, gate_settings(gate), settings.database_url, settings.mlflow_tracking_uri
        )
    typer.echo(json.dumps(result.to_json(), indent=2, default=str) if as_json else result.to_markdown())
    typer.echo(f"logged as {artifact} on version {version}'s run", err=True)


@model_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="The notebook's booster, saved with booster.save_model.")],
    oof: Annotated[
        Path | None, typer.Option(help="Parquet/CSV of SK_ID_CURR, SCORE: its out-of-fold scores.")
    ] = None,
    holdout: Annotated[
        Path | None, typer.Option(help="Parquet/CSV with SK_ID_CURR: labelled clients it never saw.")
    ] = None,
    author: Annotated[
        str | None, typer.Option(help="Who trained it (may not approve it). Default: $CREDIT_ACTOR, OS user.")
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "credit-scoring",
    review_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of validation applications sent to review.")
    ] = REVIEW_SHARE,
    include_gender: Annotated[bool, typer.Option(help="Accept a model that uses gender.")] = False,
) -> None:
    """Register a LightGBM model trained outside the platform as the challenger: features checked,
    calibrated, threshold and review band set on the validation rows, logged like `credit train`."""
    from services.training.dataset import TrainingDataError
    from services.training.importing import ID, SCORE, ImportRefused, import_model, read_table  # LightGBM

    with user_errors(*USER_ERRORS, ImportRefused, TrainingDataError):
        settings = CommonSettings()
        connect(settings.mlflow_tracking_uri)
        done = import_model(
            path,
            settings.database_url,
            predictions=None if oof is None else read_table(oof, (ID, SCORE)),
            holdout=None if holdout is None else read_table(holdout, (ID,))[ID].to_list(),
            author=author,
            experiment=experiment,
            review_share=review_share,
            include_gender=include_gender,
        )
    model = done.trained.model
    typer.echo(
        f"run {done.run_id}: registered {registry.MODEL_NAME} version {done.version} as "
        f"'{registry.CHALLENGER}' ({len(model.feature_names)} features, threshold {model.threshold:.4f} "
        f"on {done.validation} rows, test AUC {done.trained.test['roc_auc']:.4f})"
    )


@model_app.command("approve")
def approve_command(
    version: str,
    note: Annotated[str, typer.Option(help="What was reviewed and why it is fit (recorded).")],
    by: By = None,
) -> None:
    """Record that a reviewer other than VERSION's author approves it (four eyes)."""
    with user_errors(*USER_ERRORS):
        settings = _connect()
        lifecycle.approve(settings.database_url, version, by or current_actor(), note)
    typer.echo(f"version {version} approved by {by or current_actor()}")


@model_app.command("promote")
def promote_command(
    version: str,
    by: By = None,
    force: Annotated[bool, typer.Option(help="Promote although gates fail (needs --justification).")] = False,
    justification: Annotated[str | None, typer.Option(help="Why failed gates are accepted.")] = None,
    gate: Gates = None,
) -> None:
    """Point `champion` at VERSION: it needs an approval and passing gates (or --force --justification)."""
    with user_errors(*USER_ERRORS):
        if force != (justification is not None):
            raise lifecycle.LifecycleRefused("--force and --justification TEXT go together")
        settings = _connect()
        done = lifecycle.promote(
            version,
            by or current_actor(),
            gate_settings(gate),
            settings.database_url,
            settings.mlflow_tracking_uri,
            justification,
        )
    typer.echo(done.report.to_markdown())
    forced = f" (FORCED past {', '.join(done.report.failed)})" if done.forced else ""
    typer.echo(f"version {version} is now '{registry.CHAMPION}' (was {done.previous or 'none'}){forced}")


@model_app.command("rollback")
def rollback_command(
    note: Annotated[str, typer.Option(help="Why the champion is rolled back (recorded).")],
    by: By = None,
) -> None:
    """Return `champion` to the previous champion, as the audit history records it."""
    with user_errors(*USER_ERRORS):
        settings = _connect()
        restored, left = lifecycle.rollback(settings.database_url, by or current_actor(), note)
    typer.echo(f"version {restored} is '{registry.CHAMPION}' again (was {left})")


@model_app.command("retrain")
def retrain_command(
    note: Annotated[str, typer.Option(help="Why a retraining is wanted (recorded with the new version).")],
    by: By = None,
) -> None:
    """Queue a retraining on the latest labelled data: the training worker registers a challenger and
    its promotion report; it waits for approval like any version (a running retraining serves it)."""
    from services.training.queue import QueueUnavailable, queued_message, request_manual

    with user_errors(*USER_ERRORS, QueueUnavailable, ValueError):
        job, request = request_manual(CommonSettings().redis_url, note, by or current_actor())
    typer.echo(queued_message(job, request))


@model_app.command("history")
def history_command(
    version: Annotated[str | None, typer.Option(help="Only this version's events.")] = None,
) -> None:
    """Every lifecycle event, oldest first: time, event, version, actor, detail."""
    with user_errors(*USER_ERRORS):
        settings = CommonSettings()
        migrate(settings.database_url)
        rows = audit.history(settings.database_url, version)
    for row in rows:
        detail = json.dumps({k: v for k, v in row.detail.items() if v not in (None, [])}, default=str)
        when = f"{row.at:%Y-%m-%d %H:%M:%S%z}"
        typer.echo(f"{when}  {row.event:<11} v{row.version:<5} {row.actor:<20} {detail}")


@model_app.command("list")
def list_command() -> None:
    """Versions, aliases, key metrics, author and approver, newest first."""
    with user_errors(*USER_ERRORS):
        connect(CommonSettings().mlflow_tracking_uri)
        versions = registry.list_versions()
    typer.echo(
        f"{'version':>7}  {'aliases':<20} {'val_auc':>8} {'test_auc':>8} {'cost/app':>8} {'threshold':>9}"
        f"  {'author':<16} {'approved by':<16}"
    )
    for v in versions:
        tags = v.tags
        typer.echo(
            f"{v.version:>7}  {','.join(v.aliases) or '-':<20} {tags.get('val_roc_auc', '-')[:8]:>8} "
            f"{tags.get('test_roc_auc', '-')[:8]:>8} {tags.get('test_cost_per_app', '-')[:8]:>8} "
            f"{tags.get('threshold', '-')[:9]:>9}  {tags.get('author', '-'):<16} "
            f"{tags.get('approved_by', '-'):<16}"
        )
