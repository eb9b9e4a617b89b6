"""The monitoring service: drift runs and reports, outcomes, realised and estimated performance, vintages,
fairness, metrics.

Run: `uvicorn services.monitoring.app:app --port 8003`. A background thread consumes the decision and
shadow streams into Postgres (set MONITORING_RUN_CONSUMER=false to run `credit monitor consume`
elsewhere). Blocking work runs in worker threads, never on the event loop.
"""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.common.logging import request_id_var
from services.common.service import create_service
from services.contracts.outcomes import OutcomesIn, OutcomesSettled
from services.contracts.reviews import DecisionRecord, PendingReviews, ReviewRecordIn
from services.monitoring import queries
from services.monitoring.collector import MonitoringCollector
from services.monitoring.drift_job import JobAlreadyRunning, run_job
from services.monitoring.lifespan import MonitoringStateDep, open_state, ready
from services.monitoring.metrics import HTTP
from services.monitoring.reviews import DecisionNotFound, ReviewConflict
from services.monitoring.schemas import (
    DecisionOutcome,
    DriftRunOut,
    FairnessOut,
    GroupApproval,
    PerformanceOut,
    VintagesOut,
)
from services.monitoring.settings import MonitoringSettings

router = APIRouter()


def _run_out(run: dict[str, Any]) -> DriftRunOut:
    report_url = f"/drift/reports/{run['id']}" if run["has_report"] else None
    return DriftRunOut.model_validate({**run, "report_url": report_url})


async def _run_or_404(settings: MonitoringSettings, run_id: int | None) -> DriftRunOut:
    run = await run_in_threadpool(
        queries.drift_run, settings.database_url, run_id, settings.top_drift_features
    )
    if run is None:
        which = "no drift run yet" if run_id is None else f"drift run {run_id} does not exist"
        raise ApiError(404, "not_found", which, {"run_id": run_id})
    return _run_out(run)


@router.post("/drift/run", response_model=DriftRunOut)
async def run_drift(state: MonitoringStateDep) -> DriftRunOut:
    """Run a drift job now (up to about a minute) and return its run, whatever its status."""
    settings = state.settings
    try:
        run_id = await run_in_threadpool(run_job, settings)
    except JobAlreadyRunning as error:
        raise ApiError(409, "job_running", str(error)) from error
    return await _run_or_404(settings, run_id)


@router.get("/drift/latest", response_model=DriftRunOut)
async def latest_drift(state: MonitoringStateDep) -> DriftRunOut:
    return await _run_or_404(state.settings, None)


@router.get("/drift/runs/{run_id}", response_model=DriftRunOut)
async def drift_run(run_id: int, state: MonitoringStateDep) -> DriftRunOut:
    return await _run_or_404(state.settings, run_id)


@router.get("/drift/reports/{run_id}", response_class=HTMLResponse)
async def drift_report(run_id: int, state: MonitoringStateDep) -> HTMLResponse:
    html = await run_in_threadpool(queries.drift_report, state.settings.database_url, run_id)
    if html is None:
        raise ApiError(404, "not_found", f"drift run {run_id} has no report", {"run_id": run_id})
    return HTMLResponse(html)


def _found(row: dict[str, Any] | None, code: str, message: str, request_id: str) -> dict[str, Any]:
    """A row looked up by request id, or the 404 naming that id."""
    if row is None:
        raise ApiError(404, code, message, {"request_id": request_id})
    return row


@router.post("/outcomes", response_model=OutcomesSettled)
async def post_outcomes(body: OutcomesIn, state: MonitoringStateDep) -> OutcomesSettled:
    """Settle decisions: each outcome is accepted (recorded, unchanged or corrected) or rejected."""
    accepted, rejected = await run_in_threadpool(
        queries.settle_outcomes, state.settings.database_url, body.outcomes, request_id_var.get()
    )
    return OutcomesSettled(accepted=accepted, rejected=rejected)


@router.get("/outcomes/{request_id}", response_model=DecisionOutcome)
async def get_outcome(request_id: str, state: MonitoringStateDep) -> DecisionOutcome:
    """The outcome settling a decision, with the earlier outcomes it corrected."""
    found = await run_in_threadpool(queries.decision_outcome, state.settings.database_url, request_id)
    return DecisionOutcome.model_validate(
        _found(found, "not_found", f"no outcome settles decision {request_id!r}", request_id)
    )


@router.get("/reviews", response_model=PendingReviews)
async def get_reviews(
    state: MonitoringStateDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> PendingReviews:
    """Decisions waiting for an officer, oldest first."""
    count, rows = await run_in_threadpool(queries.pending_reviews, state.settings.database_url, limit)
    return PendingReviews.model_validate({"pending": count, "reviews": rows})


@router.post("/decisions/{request_id}/review", response_model=DecisionRecord)
async def post_review(request_id: str, body: ReviewRecordIn, state: MonitoringStateDep) -> DecisionRecord:
    """Record an officer's final decision, once: a second review of the same decision is a 409."""
    try:
        found = await run_in_threadpool(
            queries.review_decision, state.settings.database_url, request_id, body
        )
    except DecisionNotFound as error:
        raise ApiError(404, "decision_not_found", str(error), {"request_id": request_id}) from error
    except ReviewConflict as error:
        raise ApiError(409, "review_conflict", str(error), {"request_id": request_id}) from error
    return DecisionRecord.model_validate(found)


@router.get("/decisions/{request_id}", response_model=DecisionRecord)
async def get_decision(request_id: str, state: MonitoringStateDep) -> DecisionRecord:
    """The full record of one decision: inputs, model, PD, band, warnings, review, final outcome."""
    found = await run_in_threadpool(queries.decision_record, state.settings.database_url, request_id)
    return DecisionRecord.model_validate(
        _found(found, "decision_not_found", f"no decision {request_id!r} in the decision log", request_id)
    )


@router.get("/performance", response_model=PerformanceOut)
async def get_performance(state: MonitoringStateDep) -> PerformanceOut:
    """Realised figures of settled decisions beside the figures estimated from every decision's PD."""
    settings = state.settings
    days = settings.performance_window_days
    found = await run_in_threadpool(queries.performance, settings.database_url, days)
    return PerformanceOut.model_validate({"window_days": days, **asdict(found)})


@router.get("/performance/vintages", response_model=VintagesOut)
async def get_vintages(state: MonitoringStateDep) -> VintagesOut:
    """Back-testing by month of decision: volumes, realised and estimated figures, PD-band calibration."""
    settings = state.settings
    months = settings.vintage_months
    found = await run_in_threadpool(queries.by_vintage, settings.database_url, months)
    return VintagesOut.model_validate({"months": months, "vintages": [asdict(v) for v in found]})


@router.get("/fairness", response_model=FairnessOut)
async def get_fairness(state: MonitoringStateDep) -> FairnessOut:
    settings = state.settings
    hours = settings.stats_window_hours
    groups = await run_in_threadpool(queries.fairness, settings.database_url, hours)
    return FairnessOut(window_hours=hours, groups=[GroupApproval(**asdict(g)) for g in groups])


def create_app(settings: MonitoringSettings | None = None) -> FastAPI:
    settings = settings or MonitoringSettings()
    figures = CollectorRegistry()  # computed from Postgres at scrape time
    figures.register(MonitoringCollector(settings))
    return create_service(
        title="Monitoring service",
        settings=settings,
        metrics=HTTP,
        open_state=open_state,
        ready=ready,
        routers=[router],
        scrape_registry=figures,
    )


app = create_app()
