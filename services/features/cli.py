"""`credit features ...`: build the materialised features, print the schema, regenerate docs/features.md."""

import json
from dataclasses import asdict

import typer

from services.common.logging import configure_cli_logging
from services.common.settings import CommonSettings
from services.features import docs
from services.features.build import build
from services.features.schemas import feature_schema

features_app = typer.Typer(no_args_is_help=True, help="Feature pipeline: build, schema, docs.")


@features_app.command("build")
def build_command(
    database_url: str = typer.Option(None, envvar="DATABASE_URL", help="Postgres holding the raw tables."),
) -> None:
    """Compute features of every application in Postgres and store them under the current feature set."""
    configure_cli_logging()
    url = database_url or CommonSettings().database_url
    try:
        report = build(url)
    except Exception as exc:  # a CLI prints the reason, not a traceback
        raise typer.Exit(_fail(f"features build failed: {exc}")) from exc
    typer.echo(json.dumps(asdict(report)))


@features_app.command("schema")
def schema_command() -> None:
    """Print the feature schema (names, dtypes, kinds, descriptions, feature-set hash) as JSON."""
    typer.echo(feature_schema().model_dump_json(indent=2))


@features_app.command("docs")
def docs_command(check: bool = typer.Option(False, help="Fail if docs/features.md is out of date.")) -> None:
    """Regenerate docs/features.md from the definitions."""
    text = docs.render()
    if check:
        current = docs.DOCS_PATH.read_text() if docs.DOCS_PATH.exists() else ""
        if current != text:
            raise typer.Exit(_fail(f"{docs.DOCS_PATH} is out of date; run `credit features docs`"))
        return
    docs.DOCS_PATH.parent.mkdir(exist_ok=True)
    docs.DOCS_PATH.write_text(text)
    typer.echo(f"wrote {docs.DOCS_PATH}")


def _fail(message: str) -> int:
    typer.echo(message, err=True)
    return 1
