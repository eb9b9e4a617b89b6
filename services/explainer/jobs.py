"""Explanation jobs computed as a batch, each ending as a record (done/failed) or as a transient failure.

Jobs are grouped by model version: one TreeSHAP call and one PD call per version, not one per job.
A permanent problem (unknown version, wrong features) fails only the jobs it concerns; a transient one
(MLflow, Redis or Postgres unreachable) is handed back to be retried; any other error fails its version's
jobs with the cause, so nobody polls forever.

A refused or review explanation carries its recourse offers, searched per row after the batched TreeSHAP
call (recourse.py). An error in that search other than an outage does not lose the explanation: its
recourse says that no offer could be computed, and why.
"""

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field

import numpy as np
import psycopg2
import psycopg2.extensions
import redis

from services.common.db import raw_connection
from services.common.logging import log_fields
from services.contracts.explanations import Explanation, Recourse, RecourseOffer, Status
from services.explainer import recourse
from services.explainer.applications import Connect, raw_for
from services.explainer.cache import Record
from services.explainer.explanation import explain_rows
from services.explainer.models import TrackingUnreachable, VersionCache
from services.explainer.schemas import Job
from services.explainer.shap_values import VectorMismatch, vector_for
from services.model.model import ScoringModel
from services.model.model_store import ModelVersionNotFound

logger = logging.getLogger(__name__)
NO_RAW_ROWS = (
    "No offer: the explainer has neither the raw application nor a client of that id in Postgres, so it "
    "cannot recompute a changed application."
)
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, TrackingUnreachable, psycopg2.OperationalError)
PERMANENT = (ModelVersionNotFound, VectorMismatch)


@dataclass
class Outcome:
    records: dict[str, Record] = field(default_factory=dict)  # by explanation id: done or failed
    transient: list[tuple[Job, Exception]] = field(default_factory=list)  # to retry

    def fail(self, jobs: Sequence[Job], record: Record) -> None:
        self.records.update((job.explanation_id, record) for job in jobs)


def explain_jobs(jobs: Sequence[Job], versions: VersionCache, top_k: int, database_url: str) -> Outcome:
    """`database_url`: where the raw rows of known clients are read for their recourse offers."""
    outcome = Outcome()
    by_version: dict[str, list[Job]] = {}
    for job in jobs:
        by_version.setdefault(job.version, []).append(job)
    for version, group in by_version.items():
        _explain_version(version, group, versions, top_k, database_url, outcome)
    return outcome


def failure(error: Exception) -> Record:
    """The record of a job that failed for good: a known problem says why; anything else is a bug,
    logged with its traceback (call it inside `except`) and reported as an internal error."""
    if isinstance(error, PERMANENT):
        return Record(Status.FAILED, reason=str(error))
    logger.exception("explainer job failed")
    return Record(Status.FAILED, reason=f"internal error ({type(error).__name__}): {error}")


def _explain_version(
    version: str, jobs: list[Job], versions: VersionCache, top_k: int, database_url: str, outcome: Outcome
) -> None:
    try:
        loaded = versions.get(version)
    except TRANSIENT as error:
        outcome.transient.extend((job, error) for job in jobs)
        return
    except Exception as error:
        outcome.fail(jobs, failure(error))
        return
    rows, valid = _rows(loaded.model.feature_names, jobs, outcome)
    if not valid:
        return
    try:
        explanations = explain_rows(loaded, version, rows, [job.client_id for job in valid], top_k)
    except Exception as error:
        outcome.fail(valid, failure(error))
        return
    try:
        explanations = _with_recourse(loaded.model, valid, explanations, database_url)
    except TRANSIENT as error:  # Postgres down: the whole job is retried (SHAP is deterministic)
        outcome.transient.extend((job, error) for job in valid)
        return
    for job, explanation in zip(valid, explanations, strict=True):
        outcome.records[job.explanation_id] = Record(Status.DONE, result=explanation.model_dump())


def _with_recourse(
    model: ScoringModel, jobs: list[Job], explanations: list[Explanation], database_url: str
) -> list[Explanation]:
    """Each explanation not approved gets its offers; one Postgres connection per batch, opened only if a
    declined job's rows are stored there."""
    with ExitStack() as stack:
        opened: list[psycopg2.extensions.connection] = []

        def connect() -> psycopg2.extensions.connection:
            if not opened:
                opened.append(stack.enter_context(raw_connection(database_url)))
            return opened[0]

        return [
            explanation
            if explanation.decision == "approved"
            else explanation.model_copy(update={"recourse": recourse_of(model, job, connect)})
            for job, explanation in zip(jobs, explanations, strict=True)
        ]


def recourse_of(model: ScoringModel, job: Job, connect: Connect) -> Recourse:
    """The job's offers; an outage is raised (to retry), any other error is stated in the recourse."""
    try:
        raw = raw_for(job, connect)
        if raw is None:
            return Recourse(offers=[], statement=NO_RAW_ROWS)
        found = recourse.offers_for(model, raw)
    except TRANSIENT:
        raise
    except Exception as error:
        logger.exception("recourse failed", extra=log_fields(explanation_id=job.explanation_id))
        return Recourse(
            offers=[], statement=f"No offer could be computed: internal error ({type(error).__name__})."
        )
    offers = [RecourseOffer(**asdict(offer)) for offer in found.offers]
    return Recourse(offers=offers, statement=found.statement)


def _rows(names: tuple[str, ...], jobs: list[Job], outcome: Outcome) -> tuple[np.ndarray, list[Job]]:
    """The vectors of the jobs whose features fit the model; each other job is failed with its reason."""
    rows, valid = [], []
    for job in jobs:
        try:
            rows.append(vector_for(names, job.features))
            valid.append(job)
        except Exception as error:  # a mismatch, or values that are not numbers: this job alone fails
            outcome.records[job.explanation_id] = failure(error)
    return np.array(rows).reshape(len(rows), len(names)), valid
