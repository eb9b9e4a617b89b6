"""`credit train`, `credit score` and `credit model ...`: the training-side stages as commands."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from services.common.settings import CommonSettings
from services.features.cli import Engine
from services.scoring import model_store, registry, tracking
from services.scoring.batch_scoring import ScoringInputError, score_client, score_file
from services.scoring.dataset import TrainingDataError, TrainingSet, load_training_set
from services.scoring.pipeline import TrainedModel, train
from services.scoring.training import TrainingConfig

model_app = typer.Typer(no_args_is_help=True, help="Registered model versions and their aliases.")


USER_ERRORS = (
    TrainingDataError,
    tracking.TrackingUnavailable,
    registry.RegistryError,
    registry.PromotionRefused,
    model_store.ModelVersionNotFound,
    ScoringInputError,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Problems the user can fix end the command with one clear line, not a traceback."""
    try:
        yield
    except USER_ERRORS as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@dataclass(frozen=True)
class TrainingReport:
    run_id: str
    version: str
    trained: TrainedModel


def train_and_register(data: TrainingSet, config: TrainingConfig, experiment: str) -> TrainingReport:
    """Train under one parent MLflow run and register the model as the new challenger."""
    run_name = f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    with tracking.parent_run(experiment, run_name) as run_id:
        trained = train(data, config, tracking.log_candidate)
        info = tracking.log_final(trained, registry.MODEL_NAME)
    version = str(info.registered_model_version)
    registry.tag_new_version(version, run_id, trained)
    return TrainingReport(run_id, version, trained)


def train_command(
    trials: Annotated[
        int, typer.Option(min=0, help="Optuna trials after the defaults.")
    ] = TrainingConfig.trials,
    folds: Annotated[int, typer.Option(min=2, max=10, help="Cross-validation folds.")] = TrainingConfig.folds,
    seed: Annotated[int, typer.Option(help="Seed for splits, search and LightGBM.")] = TrainingConfig.seed,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads (at most the free cores).")] = 2,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "credit-scoring",
    include_gender: Annotated[
        bool, typer.Option(help="Let the model use gender (left out by default; logged as a param).")
    ] = TrainingConfig.include_gender,
    review_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of applications nearest the threshold sent to review."),
    ] = TrainingConfig.review_share,
) -> None:
    """Train on the materialised features and TARGET; log to MLflow; register a challenger version."""
    settings = CommonSettings()
    with user_errors():
        tracking.connect(settings.mlflow_tracking_uri)
        data = load_training_set(settings.database_url)
        config = TrainingConfig(
            trials=trials,
            folds=folds,
            seed=seed,
            threads=threads,
            include_gender=include_gender,
            review_share=review_share,
        )
        report = train_and_register(data, config, experiment)
    typer.echo(
        f"run {report.run_id}: registered {registry.MODEL_NAME} version {report.version} as "
        f"'{registry.CHALLENGER}' (test AUC {report.trained.test['roc_auc']:.4f})"
    )
    band = report.trained.model.review
    if band is not None:
        typer.echo(
            f"review band: PD in [{band.low:.4f}, {band.high:.4f}) around threshold "
            f"{report.trained.model.threshold:.4f}, {band.share:.1%} of the out-of-fold applications"
        )


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
    with user_errors():
        tracking.connect(settings.mlflow_tracking_uri)
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
    from services.features.spark_tables import SparkInputError
    from services.scoring.spark_scoring import score_on_spark

    settings = SparkSettings()
    try:
        with spark_session("credit-score", settings) as spark:
            return score_on_spark(spark, input_dir, output_dir, settings.spark_partitions, alias)
    except (SparkInputError, PySparkException) as error:
        raise ScoringInputError(error_summary(error)) from None


@model_app.command("promote")
def promote_command(
    version: str,
    force: Annotated[bool, typer.Option(help="Promote even if worse than the champion.")] = False,
    tolerance: Annotated[float, typer.Option(help="Allowed validation AUC loss.")] = registry.AUC_TOLERANCE,
) -> None:
    """Point the `champion` alias at VERSION."""
    with user_errors():
        tracking.connect(CommonSettings().mlflow_tracking_uri)
        previous = registry.promote(version, force, tolerance)
    typer.echo(f"version {version} is now '{registry.CHAMPION}' (was {previous or 'none'})")


@model_app.command("list")
def list_command() -> None:
    """Versions, aliases and key metrics, newest first."""
    with user_errors():
        tracking.connect(CommonSettings().mlflow_tracking_uri)
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
