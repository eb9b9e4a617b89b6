"""Prometheus metrics of the scoring service (process-wide, exported on /metrics)."""

from prometheus_client import Counter, Histogram, Info

from services.common.metrics import RequestMetrics
from services.scoring.serving import LoadedModel

HTTP = RequestMetrics(
    "scoring",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    latency_by_status=True,
)
PD = Histogram(
    "scoring_pd", "Predicted probabilities of default.", buckets=tuple(i / 20 for i in range(1, 21))
)
DECISIONS = Counter("scoring_decisions_total", "Decisions by outcome.", ["decision"])
MODEL = Info("scoring_model", "Registered model version loaded per role (champion, challenger).", ["role"])
RELOADS = Counter("scoring_model_reloads_total", "Model versions loaded and swapped in, by role.", ["role"])
RELOAD_FAILURES = Counter(
    "scoring_model_reload_failures_total", "Model versions that could not be loaded, by role.", ["role"]
)
SHADOW = Counter(
    "scoring_shadow_records_total", "Challenger shadow records by outcome.", ["outcome"]
)  # published, dropped (queue full), failed (Redis error), skipped (feature lists incompatible)


def observe_predictions(pd_values: list[float], decisions: list[str]) -> None:
    for value in pd_values:
        PD.observe(value)
    for decision in decisions:
        DECISIONS.labels(decision).inc()


def show_model(role: str, loaded: LoadedModel | None) -> None:
    """Info series for the version now serving in `role`; removed when the role is empty."""
    if loaded is None:
        MODEL.remove(role)
    else:
        MODEL.labels(role).info({"version": loaded.version, "alias": loaded.alias})
