"""The `credit` command line: one sub-command group per stage (data, features, train, score, ...)."""

import typer

from services.data.cli import data_app
from services.features.cli import features_app
from services.gateway.keys_cli import keys_app
from services.monitoring.cli import monitor_app
from services.scoring.cli import register as register_scoring

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Prêt à dépenser credit scoring platform.")
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
register_scoring(app)
app.add_typer(keys_app, name="keys")
app.add_typer(monitor_app, name="monitor")


def main() -> None:
    app()
