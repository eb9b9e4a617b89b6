"""`credit features ...`: build the materialised features, print the schema, regenerate docs/features.md."""

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services.common.cli import user_errors
from services.common.logging import configure_cli_logging
from services.common.settings import CommonSettings
from services.feature_definitions import docs
from services.feature_definitions.catalog import feature_schema
from services.feature_store.build import build
from services.training.dataset import TrainingDataError, labelled_features

if TYPE_CHECKING:
    from services.feature_store.spark_build import SparkBuildReport

features_app = typer.Typer(no_args_is_help=True, help="Feature pipeline: build, schema, docs.")


class Engine(StrEnum):
    local = "local"  # this machine: raw tables from Postgres, vectors into Postgres
    spark = "spark"  # a Spark cluster: raw tables from files, vectors as Parquet (and Postgres on --load)


@features_app.command("build")
def build_command(
    database_url: Annotated[
        str | None, typer.Option(envvar="DATABASE_URL", help="Postgres: raw tables, feature store.")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="local: Postgres in and out; spark: files in and out.")] = (
        Engine.local
    ),
    input_dir: Annotated[str | None, typer.Option("--input", help="spark: the tables' folder.")] = None,
    output_dir: Annotated[str | None, typer.Option("--output", help="spark: vectors' folder.")] = None,
    load: Annotated[bool, typer.Option(help="spark: also load the vectors into the feature store.")] = False,
) -> None:
    """Compute features of every application and store them under the current feature set."""
    configure_cli_logging()
    url = database_url or CommonSettings().database_url
    if engine is Engine.spark and not (input_dir and output_dir):
        raise typer.Exit(_fail("--engine spark needs --input DIR and --output DIR", code=2))
    if engine is Engine.local and (input_dir or output_dir or load):
        raise typer.Exit(_fail("--input, --output and --load go with --engine spark", code=2))
    try:
        if engine is Engine.spark:
            report = _spark_build(input_dir, output_dir, url if load else None)
        else:
            report = build(url)
    except Exception as exc:  # a CLI prints the reason, not a traceback
        raise typer.Exit(_fail(f"features build failed: {exc}")) from exc
    typer.echo(json.dumps(asdict(report)))


def _spark_build(input_dir: str, output_dir: str, database_url: str | None) -> "SparkBuildReport":
    # Imported here: the JVM bridge is only needed by this engine.
    from pyspark.errors import PySparkException

    from services.common.spark import SparkSettings, error_summary, spark_session
    from services.feature_store.spark_build import build as spark_build

    settings = SparkSettings()
    try:
        with spark_session("credit-features-build", settings) as spark:
            return spark_build(spark, input_dir, output_dir, settings.spark_partitions, database_url)
    except PySparkException as error:
        raise RuntimeError(error_summary(error)) from None


@features_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option(help="Parquet file to write.")],
    feature: Annotated[
        list[str] | None, typer.Option(help="Only this feature (repeatable). Default: every feature.")
    ] = None,
) -> None:
    """Write SK_ID_CURR, TARGET and the materialised features of every labelled client as Parquet (what
    a notebook trains a model on, for `credit model import`)."""
    with user_errors(TrainingDataError):
        frame = labelled_features(CommonSettings().database_url, feature)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(output)
    typer.echo(f"wrote {frame.height} labelled clients x {frame.width - 2} features to {output}")


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


def _fail(message: str, code: int = 1) -> int:
    typer.echo(message, err=True)
    return code
