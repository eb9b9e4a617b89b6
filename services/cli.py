"""The `credit` command line: one sub-command group per stage (data, features, train, score, ...).

Groups are imported only when their command runs: the training and monitoring stacks (LightGBM, MLflow,
Evidently) take seconds to import, and `credit data load` should not pay for them.
"""

import importlib

import click
import typer
from typer.core import TyperGroup

# command name -> "module:attribute", a typer.Typer group or a plain command function
COMMANDS = {
    "data": "services.data.cli:data_app",
    "features": "services.feature_store.cli:features_app",
    "train": "services.training.cli:train_command",
    "score": "services.scoring.cli:score_command",
    "model": "services.model.cli:model_app",
    "keys": "services.gateway.keys_cli:keys_app",
    "monitor": "services.monitoring.cli:monitor_app",
    "decisions": "services.monitoring.decisions_cli:decisions_app",
    "recourse": "services.explainer.cli:recourse_command",
    "bootstrap": "services.training.bootstrap:bootstrap_command",
}


class LazyGroup(TyperGroup):
    """The root group; its sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name].split(":")
        target = getattr(importlib.import_module(module), attribute)
        if not isinstance(target, typer.Typer):
            target = typer.Typer(add_completion=False)
            target.command(cmd_name)(getattr(importlib.import_module(module), attribute))
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command


app = typer.Typer(cls=LazyGroup, no_args_is_help=True, add_completion=False)


@app.callback()
def credit() -> None:
    """Prêt à dépenser credit scoring platform."""


def main() -> None:
    app()
