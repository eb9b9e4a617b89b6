"""The promotion report: every gate for a candidate version against the champion, on the candidate's
held-out rows (its `reference_sample.parquet`: features + TARGET, scored by both models) and on recent
traffic (the decision log's logged vectors, or those same rows when too few decisions are logged).

Logged on the candidate's MLflow run as `promotion/report-<candidate>-vs-<champion>.json` and `.md`.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.common.db import raw_connection
from services.model import gates
from services.model.fairness import AGE_EDGES, age_label, gender_label
from services.model.gates import MISSING_GROUP, Champion, GateResult, GateSettings, Scores, Status
from services.model.model import ScoringModel
from services.model.model_store import load_version
from services.model.reference import reference_sample
from services.model.registry import CHAMPION, MODEL_NAME

GENDER_FEATURE = "app_code_gender_code"
AGE_FEATURES = ("app_age_years", "app_days_birth")
AGE_BANDS = tuple(age_label(bucket) for bucket in range(len(AGE_EDGES) + 1))  # youngest first
REPORT_DIR = "promotion"
_TRAFFIC = (
    "SELECT n.names, d.feature_values FROM decision_log d JOIN feature_name_sets n USING (names_hash)"
    " ORDER BY d.decided_at DESC LIMIT %s"
)


@dataclass(frozen=True)
class PromotionReport:
    candidate: str
    champion: str | None
    created_at: str
    validation_rows: int
    traffic: str  # where PSI and changed decisions were measured
    gates: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        return all(g.status != Status.FAIL for g in self.gates)

    @property
    def failed(self) -> list[str]:
        return [g.name for g in self.gates if g.status == Status.FAIL]

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def to_markdown(self) -> str:
        verdict = "PASSED" if self.passed else f"FAILED: {', '.join(self.failed)}"
        lines = [
            f"# Promotion report: {MODEL_NAME} {self.candidate} vs champion {self.champion or 'none'}",
            "",
            f"{self.created_at} · {self.validation_rows} held-out rows of the candidate scored by both "
            f"models · traffic: {self.traffic} · **{verdict}**",
            "",
            "| gate | status | rule | figures |",
            "|---|---|---|---|",
        ]
        for g in self.gates:
            shown = ", ".join(f"{k} {_fmt(v)}" for k, v in g.figures.items())
            cells = (g.name, g.status.value, g.rule, f"{shown}{' — ' + g.reason if g.reason else ''}")
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return "\n".join(lines) + "\n"


def _fmt(value: float | str | None) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def evaluate(candidate: str, settings: GateSettings, database_url: str, tracking_uri: str) -> PromotionReport:
    """Every gate for `candidate` against the version behind `champion` (if any)."""
    client = MlflowClient(tracking_uri)
    model = load_version(candidate, client)
    rows = reference_sample(tracking_uri, candidate)
    y = rows["TARGET"].to_numpy()
    scores = _score(model, rows)
    traffic, source = _traffic(database_url, settings, rows)
    champion = _champion(client, candidate, rows, traffic)
    candidate_traffic = _score(model, traffic)
    results = (
        gates.discrimination(y, scores, champion, settings),
        gates.calibration_error(y, scores, settings),
        gates.calibration_in_the_large(y, scores, settings),
        gates.business_cost(y, scores, champion, settings),
        gates.approval_ratio("gender", _genders(rows), scores, settings),
        gates.approval_ratio("age_band", _age_bands(rows), scores, settings, AGE_BANDS),
        gates.score_stability(candidate_traffic, champion, source, settings),
        gates.changed_decisions(candidate_traffic, champion, source, settings),
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return PromotionReport(candidate, champion.version, now, len(rows), source, results)


def log_report(report: PromotionReport, tracking_uri: str) -> str:
    """JSON and Markdown on the candidate's run; returns the artifact path of the JSON."""
    client = MlflowClient(tracking_uri)
    run_id = client.get_model_version(MODEL_NAME, report.candidate).run_id
    stem = f"{REPORT_DIR}/report-{report.candidate}-vs-{report.champion or 'none'}"
    client.log_text(run_id, json.dumps(report.to_json(), indent=2, default=str), f"{stem}.json")
    client.log_text(run_id, report.to_markdown(), f"{stem}.md")
    return f"{stem}.json"


def _score(model: ScoringModel, rows: pl.DataFrame) -> Scores:
    """PDs and outcomes of `rows` (a missing feature column is scored as missing)."""
    missing = np.full(len(rows), np.nan)
    columns = [
        rows[n].cast(pl.Float64).to_numpy() if n in rows.columns else missing for n in model.feature_names
    ]
    values = np.column_stack(columns)
    pd_values, outcome = model.decisions(values)
    return Scores(pd_values, model.threshold, outcome)


def _champion(client: MlflowClient, candidate: str, rows: pl.DataFrame, traffic: pl.DataFrame) -> Champion:
    """The current champion scored on the same rows; `unusable` says why it cannot be."""
    try:
        version = str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except MlflowException:
        return Champion(None)
    if version == candidate:
        return Champion(None, unusable=f"version {candidate} is the champion already")
    try:
        model = load_version(version, client)
    except (MlflowException, OSError, LookupError, ValueError) as error:
        return Champion(version, unusable=f"champion version {version} cannot be loaded ({error})")
    missing = [name for name in model.feature_names if name not in rows.columns]
    if missing:
        return Champion(
            version,
            unusable=f"the candidate's rows lack {len(missing)} of the champion's features "
            f"({', '.join(missing[:5])}): the two cannot be scored on the same rows",
        )
    return Champion(version, _score(model, rows), _score(model, traffic))


def _traffic(database_url: str, settings: GateSettings, rows: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The latest logged vectors as one frame (each under its own feature names), or the held-out rows."""
    with raw_connection(database_url) as conn, conn.cursor() as cur:
        cur.execute(_TRAFFIC, (settings.traffic_rows,))
        logged = cur.fetchall()
    if len(logged) < settings.min_traffic_rows:
        return rows, f"validation rows ({len(logged)} logged decisions < {settings.min_traffic_rows})"
    by_names: dict[tuple[str, ...], list[list[float]]] = {}
    for names, values in logged:
        by_names.setdefault(tuple(names), []).append(values)
    frames = [
        pl.DataFrame(np.array(vectors, dtype=np.float64), schema=list(names), orient="row")
        for names, vectors in by_names.items()
    ]
    return pl.concat(frames, how="diagonal"), f"decision log, latest {len(logged)} decisions"


def _genders(rows: pl.DataFrame) -> np.ndarray | None:
    if GENDER_FEATURE not in rows.columns:
        return None
    codes = rows[GENDER_FEATURE].fill_nan(None).to_list()
    return np.array([gender_label(code) for code in codes])


def _age_bands(rows: pl.DataFrame) -> np.ndarray | None:
    """Age in years from app_age_years, else -app_days_birth / 365.25, in monitoring's bands."""
    present = [name for name in AGE_FEATURES if name in rows.columns]
    if not present:
        return None
    years = rows[present[0]].to_numpy().astype(float)
    if present[0] == "app_days_birth":
        years = -years / 365.25
    known = ~np.isnan(years)
    bands = np.full(len(rows), MISSING_GROUP, dtype=object)
    bands[known] = [age_label(int(b)) for b in np.digitize(years[known], AGE_EDGES)]
    return bands
