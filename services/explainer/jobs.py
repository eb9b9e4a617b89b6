"""Explanation jobs computed as a batch, each ending as a record (done/failed) or as a transient failure.

Jobs are grouped by model version: one TreeSHAP call and one PD call per version, not one per job.
A permanent problem (unknown version, wrong features) fails only the jobs it concerns; a transient one
(MLflow or Redis unreachable) is handed back to be retried; any other error fails its version's jobs
with the cause, so nobody polls forever.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import redis

from services.explainer.cache import Record
from services.explainer.explanation import explain_rows
from services.explainer.models import TrackingUnreachable, VersionCache
from services.explainer.schemas import Job, Status
from services.explainer.shap_values import VectorMismatch, vector_for
from services.model.model_store import ModelVersionNotFound

logger = logging.getLogger(__name__)
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, TrackingUnreachable)
PERMANENT = (ModelVersionNotFound, VectorMismatch)


@dataclass
class Outcome:
    records: dict[str, Record] = field(default_factory=dict)  # by explanation id: done or failed
    transient: list[tuple[Job, Exception]] = field(default_factory=list)  # to retry

    def fail(self, jobs: Sequence[Job], record: Record) -> None:
        self.records.update((job.explanation_id, record) for job in jobs)


def explain_jobs(jobs: Sequence[Job], versions: VersionCache, top_k: int) -> Outcome:
    outcome = Outcome()
    by_version: dict[str, list[Job]] = {}
    for job in jobs:
        by_version.setdefault(job.version, []).append(job)
    for version, group in by_version.items():
        _explain_version(version, group, versions, top_k, outcome)
    return outcome


def failure(error: Exception) -> Record:
    """The record of a job that failed for good: a known problem says why; anything else is a bug,
    logged with its traceback (call it inside `except`) and reported as an internal error."""
    if isinstance(error, PERMANENT):
        return Record(Status.FAILED, reason=str(error))
    logger.exception("explainer job failed")
    return Record(Status.FAILED, reason=f"internal error ({type(error).__name__}): {error}")


def _explain_version(
    version: str, jobs: list[Job], versions: VersionCache, top_k: int, outcome: Outcome
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
    for job, explanation in zip(valid, explanations, strict=True):
        outcome.records[job.explanation_id] = Record(Status.DONE, result=explanation.model_dump())


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
