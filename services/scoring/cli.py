"""`credit score`: PDs and decisions for a file of applications, a portfolio on Spark, or one client."""

import json
from pathlib import Path
from typing import Annotated

import typer

from services.common.cli import user_errors
from services.common.settings import CommonSettings
from services.feature_store.cli import Engine
from services.model import registry
from services.model.mlflow_uri import TrackingUnavailable, connect
from services.model.model_store import ModelVersionNotFound
from services.scoring.batch_scoring import ScoringInputError, score_client, score_file

USER_ERRORS = (TrackingUnavailable, registry.RegistryError, ModelVersionNotFound, ScoringInputError)


def score_command(
    input_path: Annotated[
        str | None, typer.Option("--input", help="CSV of raw applications (spark: the tables' directory).")
    ] = None,
    output_path: Annotated[
        str | None, typer.Option("--output", help="CSV (spark: Parquet directory).")
    ] = None,
    client: Annotated[int | None, typer.Option(help="Score one client known to Postgres.")] = None,
    alias: Annotated[str, typer.Option(help="Registry alias of the model.")] = registry.CHAMPION,
    engine: Annotated[
        Engine, typer.Option(help="local, or spark for a portfolio on a cluster.")
    ] = Engine.local,
) -> None:
    """Score a file of applications (--input/--output) or one known client (--client)."""
    if (client is None) == (input_path is None) or (input_path is None) != (output_path is None):
        typer.echo("error: give either --client ID, or --input FILE and --output OUT", err=True)
        raise typer.Exit(2)
    if engine is Engine.spark and client is not None:
        typer.echo("error: --engine spark scores a directory of tables: --input DIR --output DIR", err=True)
        raise typer.Exit(2)
    settings = CommonSettings()
    with user_errors(*USER_ERRORS):
        connect(settings.mlflow_tracking_uri)
        if client is not None:
            typer.echo(json.dumps(score_client(settings.database_url, client, alias)))
        elif engine is Engine.spark:
            rows = _spark_score(input_path, output_path, alias)
            typer.echo(f"scored {rows} applications into {output_path}")
        else:
            done = score_file(settings.database_url, Path(input_path), Path(output_path), alias)
            typer.echo(
                f"scored {done.scored} applications into {output_path}; {done.invalid} outside their "
                "domain got no score (see the error column)"
            )


def _spark_score(input_dir: str, output_dir: str, alias: str) -> int:
    # Imported here: the JVM bridge is only needed by this engine.
    from pyspark.errors import PySparkException

    from services.common.spark import SparkSettings, error_summary, spark_session
    from services.feature_store.spark_tables import SparkInputError
    from services.scoring.spark_scoring import score_on_spark

    settings = SparkSettings()
    try:
        with spark_session("credit-score", settings) as spark:
            return score_on_spark(spark, input_dir, output_dir, settings.spark_partitions, alias)
    except (SparkInputError, PySparkException) as error:
        raise ScoringInputError(error_summary(error)) from None
