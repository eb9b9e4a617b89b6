"""`credit bootstrap`: the first-run step `make demo` and the Compose `bootstrap` service share. Synthetic
data -> Postgres -> features -> training logged to MLflow -> champion, in one process (each step as its
own `credit` command would import MLflow and LightGBM again: seconds each).

It does nothing when the registry already has a champion whose files load, so restarting a stack keeps
its data and its model; a champion whose artifacts are gone (`make clean` removes .run/, the registry in
Postgres stays) is replaced by a new training. The first model goes through the governed lifecycle like
any other: trained by one named person, approved by a second, promoted through the gates
(services/model/lifecycle.py); past a lost champion the promotion is forced, with the reason recorded.
"""

from pathlib import Path
from typing import Annotated

import typer

from services.common.cli import user_errors
from services.common.settings import CommonSettings
from services.data.loader import load_command
from services.data.synth import synth_command
from services.feature_store.cli import build_command
from services.model.cli import approve_command, promote_command
from services.model.mlflow_uri import connect
from services.model.model_store import load_version, resolve_alias
from services.model.registry import CHAMPION
from services.training.cli import EXPERIMENT, USER_ERRORS, print_trained, train_from_store
from services.training.cross_validation import TrainingConfig

SEED = 42  # the synthetic clients the demo's scripts and docs refer to


def bootstrap_command(
    data_dir: Annotated[Path, typer.Argument(help="Synthetic tables' folder (generated when empty).")],
    clients: Annotated[int, typer.Argument(min=1, help="Synthetic training clients to generate.")],
    trials: Annotated[int, typer.Argument(min=0, help="Optuna trials of the first training.")],
    author: Annotated[str, typer.Option(envvar="DEMO_AUTHOR", help="Who trains.")] = "demo-data-scientist",
    approver: Annotated[
        str, typer.Option(envvar="DEMO_APPROVER", help="Who approves and promotes (not the author).")
    ] = "demo-model-validator",
) -> None:
    """Make a champion for an empty platform (or one whose champion lost its files); else do nothing."""
    settings = CommonSettings()
    with user_errors(*USER_ERRORS):
        connect(settings.mlflow_tracking_uri)
        champion = resolve_alias(CHAMPION)
    justification = None
    if champion is not None:
        if _loads(champion):
            typer.echo(f"bootstrap: version {champion} is the champion already; nothing to do")
            return
        typer.echo(f"bootstrap: champion version {champion} cannot be loaded (its artifacts are gone); "
                   "training a new one")  # fmt: skip
        # the gates cannot score a champion nobody can load: they fail, and the promotion is forced
        justification = f"bootstrap: champion version {champion} has lost its artifacts"
    if not (data_dir / "oracle.csv").is_file():
        typer.echo(f"bootstrap: generating {clients} synthetic clients into {data_dir}")
        synth_command(clients=clients, seed=SEED, out=data_dir)
    typer.echo(f"bootstrap: loading {data_dir} into Postgres")
    load_command(data_dir)
    typer.echo("bootstrap: building features")
    build_command(database_url=settings.database_url)
    typer.echo(f"bootstrap: training a first model ({trials} search trials)")
    with user_errors(*USER_ERRORS):
        report = train_from_store(settings, TrainingConfig(trials=trials), EXPERIMENT, author)
    print_trained(report)
    approve_command(report.version, note="bootstrap: first model of the demo, report reviewed", by=approver)
    promote_command(report.version, by=approver, force=justification is not None, justification=justification)


def _loads(version: str) -> bool:
    try:
        load_version(version)
    except Exception:  # any failure to load is what this check is for
        return False
    return True
