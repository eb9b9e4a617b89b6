"""`credit model ...`: the registered versions and their aliases."""

from typing import Annotated

import typer

from services.common.cli import user_errors
from services.common.settings import CommonSettings
from services.model import registry
from services.model.mlflow_uri import TrackingUnavailable, connect

model_app = typer.Typer(no_args_is_help=True, help="Registered model versions and their aliases.")
USER_ERRORS = (TrackingUnavailable, registry.RegistryError, registry.PromotionRefused)


@model_app.command("promote")
def promote_command(
    version: str,
    force: Annotated[bool, typer.Option(help="Promote even if worse than the champion.")] = False,
    tolerance: Annotated[float, typer.Option(help="Allowed validation AUC loss.")] = registry.AUC_TOLERANCE,
) -> None:
    """Point the `champion` alias at VERSION."""
    with user_errors(*USER_ERRORS):
        connect(CommonSettings().mlflow_tracking_uri)
        previous = registry.promote(version, force, tolerance)
    typer.echo(f"version {version} is now '{registry.CHAMPION}' (was {previous or 'none'})")


@model_app.command("list")
def list_command() -> None:
    """Versions, aliases and key metrics, newest first."""
    with user_errors(*USER_ERRORS):
        connect(CommonSettings().mlflow_tracking_uri)
        versions = registry.list_versions()
    typer.echo(
        f"{'version':>7}  {'aliases':<20} {'val_auc':>8} {'test_auc':>8} {'cost/app':>8} {'threshold':>9}"
    )
    for v in versions:
        tags = v.tags
        typer.echo(
            f"{v.version:>7}  {','.join(v.aliases) or '-':<20} {tags.get('val_roc_auc', '-')[:8]:>8} "
            f"{tags.get('test_roc_auc', '-')[:8]:>8} {tags.get('test_cost_per_app', '-')[:8]:>8} "
            f"{tags.get('threshold', '-')[:9]:>9}"
        )
