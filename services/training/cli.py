"""`credit train`: the materialised features and TARGET in, a registered challenger version out."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer

from services.common.cli import user_errors
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.model import audit, registry
from services.model.audit import Event, current_actor
from services.model.mlflow_uri import TrackingUnavailable, connect
from services.training import tracking
from services.training.cross_validation import TrainingConfig
from services.training.dataset import TrainingDataError, TrainingSet, load_training_set
from services.training.pipeline import TrainedModel, train
from services.training.queue import QueueUnavailable, queued_message, request_manual

USER_ERRORS = (TrainingDataError, TrackingUnavailable, registry.RegistryError)
EXPERIMENT = "credit-scoring"


@dataclass(frozen=True)
class TrainingReport:
    run_id: str
    version: str
    trained: TrainedModel


def train_and_register(
    data: TrainingSet, config: TrainingConfig, experiment: str, author: str | None = None
) -> TrainingReport:
    """Train under one parent MLflow run and register the model as the new challenger, tagged with its
    author (default: $CREDIT_ACTOR, else the OS user), whom four eyes keep from approving it."""
    run_name = f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    with tracking.parent_run(experiment, run_name) as run_id:
        trained = train(data, config, tracking.log_candidate)
        version = tracking.register_final(trained, run_id, author or current_actor())
    return TrainingReport(run_id, version, trained)


def train_command(
    trials: Annotated[
        int, typer.Option(min=0, help="Optuna trials after the defaults.")
    ] = TrainingConfig.trials,
    folds: Annotated[int, typer.Option(min=2, max=10, help="Cross-validation folds.")] = TrainingConfig.folds,
    seed: Annotated[int, typer.Option(help="Seed for splits, search and LightGBM.")] = TrainingConfig.seed,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads (at most the free cores).")] = 2,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = EXPERIMENT,
    include_gender: Annotated[
        bool, typer.Option(help="Let the model use gender (left out by default; logged as a param).")
    ] = TrainingConfig.include_gender,
    review_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of applications nearest the threshold sent to review."),
    ] = TrainingConfig.review_share,
    author: Annotated[
        str | None,
        typer.Option(help="Who trains (recorded; may not approve it). Default: $CREDIT_ACTOR, the OS user."),
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Queue a retraining for the training worker instead (its TRAINING_* settings apply; "
            "author retrain:manual), and return.",
        ),
    ] = False,
) -> None:
    """Train on the materialised features and TARGET; log to MLflow; register a challenger version."""
    settings = CommonSettings()
    if queue:
        with user_errors(QueueUnavailable):
            by = author or current_actor()
            job, request = request_manual(settings.redis_url, "credit train --queue", by)
        typer.echo(queued_message(job, request))
        return
    config = TrainingConfig(
        trials=trials,
        folds=folds,
        seed=seed,
        threads=threads,
        include_gender=include_gender,
        review_share=review_share,
    )
    with user_errors(*USER_ERRORS):
        report = train_from_store(settings, config, experiment, author or current_actor())
    print_trained(report)


def train_from_store(
    settings: CommonSettings, config: TrainingConfig, experiment: str, author: str
) -> TrainingReport:
    """Train on the feature store's vectors and TARGET, register a challenger and record who trained it."""
    connect(settings.mlflow_tracking_uri)
    data = load_training_set(settings.database_url)
    report = train_and_register(data, config, experiment, author)
    migrate(settings.database_url)
    audit.record(settings.database_url, Event.TRAINED, report.version, author, {"run_id": report.run_id})
    return report


def print_trained(report: TrainingReport) -> None:
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
