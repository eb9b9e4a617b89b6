"""The `credit` command line: one sub-command group per stage (data, features, train, score, ...)."""

import typer

from services.data.cli import data_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Prêt à dépenser credit scoring platform.")
app.add_typer(data_app, name="data")


def main() -> None:
    app()
