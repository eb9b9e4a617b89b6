"""The demo's MLOps loop: drifted applications (with their history) through the gateway, outcomes for part
of them, a drift job, realised beside estimated performance, the vintage table, the alerts Prometheus
fires. Exits non-zero when any step fails."""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import polars as pl

from services.data.bodies import History, history_of, rows_of, table_files

OUTCOME_SHARE = 0.6  # the part of the traffic whose outcome is known by the end of the demo
LOGGED_WITHIN_S = 30.0
PROMETHEUS_WITHIN_S = 60.0
Application = tuple[dict[str, object], History, bool]


def drifted_batch(folder: Path, count: int, seed: int) -> list[Application]:
    """`count` labelled drifted applications with their drifted history rows and whether they defaulted."""
    files = table_files(folder)
    apps = pl.read_csv(files["application_train"], infer_schema_length=None).sample(n=count, seed=seed)
    history = history_of(files, [int(i) for i in apps["SK_ID_CURR"]])
    rows = rows_of(apps)
    return [(_without_target(a), history[int(a["SK_ID_CURR"])], bool(a["TARGET"])) for a in rows]


def _without_target(application: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in application.items() if k != "TARGET"}


def score_batch(gateway: httpx.Client, batch: list[Application]) -> list[tuple[dict, bool]]:
    """(score, defaulted) per application the gateway scored; refusals of bad input are counted."""

    def one(item: Application) -> tuple[dict, bool] | None:
        app, history, defaulted = item
        response = gateway.post("/v1/scores", json={"application": app, "history": history})
        if response.status_code == 422:
            return None
        return response.raise_for_status().json(), defaulted

    with ThreadPoolExecutor(4) as pool:
        scored = list(pool.map(one, batch))
    found = [s for s in scored if s is not None]
    decisions = [score["decision"] for score, _ in found]
    print(f"\n== {len(batch)} drifted applications scored through the gateway")
    print(f"  {len(found)} scored ({len(batch) - len(found)} refused as invalid input); "
          + ", ".join(f"{d} {decisions.count(d)}" for d in sorted(set(decisions))))  # fmt: skip
    return found


def post_outcomes(gateway: httpx.Client, scored: list[tuple[dict, bool]]) -> None:
    """Outcomes of part of the traffic, once the decisions are logged; then sent again, and one unknown."""
    known = scored[: int(len(scored) * OUTCOME_SHARE)]
    outcomes = [
        {"client_id": s["client_id"], "defaulted": defaulted, "request_id": s["request_id"]}
        for s, defaulted in known
    ]
    waiting, deadline = outcomes, time.monotonic() + LOGGED_WITHIN_S
    while waiting and time.monotonic() < deadline:  # a decision reaches the log a moment after its score
        rejected = (
            gateway.post("/v1/outcomes", json={"outcomes": waiting}).raise_for_status().json()["rejected"]
        )
        waiting = [waiting[r["item"]] for r in rejected]
    if waiting:
        raise RuntimeError(f"{len(waiting)} decisions never reached the decision log")
    unknown = {"client_id": 1, "defaulted": False}
    again = gateway.post("/v1/outcomes", json={"outcomes": [*outcomes, unknown]}).raise_for_status().json()
    results = [a["result"] for a in again["accepted"]]
    print(f"\n== outcomes for {len(outcomes)} of the {len(scored)} drifted decisions "
          f"({sum(d for _, d in known)} defaulted)")  # fmt: skip
    print(f"  sent again: {results.count('unchanged')} unchanged, {len(again['rejected'])} rejected "
          f"({again['rejected'][0]['reason']})")  # fmt: skip


def run_drift(monitoring: httpx.Client) -> dict:
    """One drift job now (waits out a scheduled one that holds the lock)."""
    deadline = time.monotonic() + 300
    while (response := monitoring.post("/drift/run")).status_code == 409 and time.monotonic() < deadline:
        time.sleep(2)
    run = response.raise_for_status().json()
    if run["status"] != "ok":
        raise RuntimeError(f"drift job {run['status']}: {run['error']}")
    print(f"\n== drift run {run['id']}: model v{run['model_version']}, {run['current_rows']} decisions "
          f"vs {run['reference_rows']} reference rows")  # fmt: skip
    print(f"  drift share {run['drift_share']:.1%} ({run['drifted_features']} of {run['features_tested']} "
          f"features), dataset drift {run['dataset_drift']}, score PSI {run['score_psi']:.3f}")  # fmt: skip
    for top in run["top_features"][:5]:
        print(f"  - {top['feature']}: {top['stattest']} {top['score']:.3g} (threshold {top['threshold']})")
    print(f"  report {monitoring.base_url}{run['report_url']}")
    return run


def _figure(value: float | None, form: str = ".3f") -> str:
    return "-" if value is None else format(value, form)


def show_performance(monitoring: httpx.Client) -> None:
    found = monitoring.get("/performance").raise_for_status().json()
    realised, estimated = found["realised"], found["estimated"]
    print(f"\n== performance over {found['window_days']:g} days: {found['decisions']} decisions, "
          f"{realised['with_outcome']} settled")  # fmt: skip
    print(f"  {'':<10}{'AUC':>8}{'default rate':>14}{'cost/decision':>15}")
    for name, figures in (("realised", realised), ("estimated", estimated)):
        print(f"  {name:<10}{_figure(figures['auc']):>8}{_figure(figures['default_rate'], '.1%'):>14}"
              f"{_figure(figures['cost_per_decision']):>15}")  # fmt: skip


VINTAGE_COLUMNS = (  # header, width, how to read it from a vintage
    ("vintage", 9, lambda v: v["vintage"]),
    ("decisions", 10, lambda v: str(v["decisions"])),
    ("approved", 9, lambda v: f"{v['approval_rate']:.1%}"),
    ("mean PD", 8, lambda v: f"{v['mean_pd']:.3f}"),
    ("settled", 8, lambda v: str(v["realised"]["with_outcome"])),
    ("default", 8, lambda v: _figure(v["realised"]["default_rate"], ".1%")),
    ("est.def", 8, lambda v: _figure(v["estimated"]["default_rate"], ".1%")),
    ("AUC", 7, lambda v: _figure(v["realised"]["auc"])),
    ("est.AUC", 8, lambda v: _figure(v["estimated"]["auc"])),
    ("Gini", 7, lambda v: _figure(v["gini"])),
    ("KS", 7, lambda v: _figure(v["realised"]["ks"])),
)


def show_vintages(monitoring: httpx.Client) -> None:
    found = monitoring.get("/performance/vintages").raise_for_status().json()["vintages"]
    print("\n== vintages (month of decision)")
    print("  " + "".join(f"{name:>{width}}" for name, width, _ in VINTAGE_COLUMNS))
    for vintage in found:
        print("  " + "".join(f"{read(vintage):>{width}}" for _, width, read in VINTAGE_COLUMNS))
        for band in vintage["bands"]:
            print(f"    PD {band['band']}: {band['defaults']}/{band['settled']} defaulted"
                  f" ({band['observed_default_rate']:.1%}) vs mean PD {band['mean_pd']:.1%},"
                  f" Jeffreys 95% [{band['jeffreys_low']:.1%}, {band['jeffreys_high']:.1%}]"
                  f" p={band['p_value']:.3f}: {band['verdict']}")  # fmt: skip


def show_alerts(prometheus: httpx.Client, run: dict) -> None:
    """Once Prometheus has scraped this run's drift share and evaluated the rules on it, its alerts."""
    deadline = time.monotonic() + PROMETHEUS_WITHIN_S
    while time.monotonic() < deadline:
        found = prometheus.get("/api/v1/query", params={"query": "monitoring_drift_share"}).json()["data"][
            "result"
        ]
        if found and abs(float(found[0]["value"][1]) - run["drift_share"]) < 1e-9:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("Prometheus never scraped the drift run's figures")
    _wait_for_rule_evaluations(prometheus, after=time.time(), deadline=deadline)
    alerts = prometheus.get("/api/v1/alerts").raise_for_status().json()["data"]["alerts"]
    print(f"\n== Prometheus {prometheus.base_url}: alerts")
    for state in ("firing", "pending"):
        names = sorted({a["labels"]["alertname"] for a in alerts if a["state"] == state})
        print(f"  {state}: {', '.join(names) if names else 'none'}")


def _wait_for_rule_evaluations(prometheus: httpx.Client, after: float, deadline: float) -> None:
    """Until every rule group has been evaluated since `after` (the drift alerts have no `for:`, so one
    evaluation that saw the scraped figures decides them), not a fixed sleep of two intervals."""
    while time.monotonic() < deadline:
        groups = prometheus.get("/api/v1/rules").raise_for_status().json()["data"]["groups"]
        if groups and all(datetime.fromisoformat(g["lastEvaluation"]).timestamp() > after for g in groups):
            return
        time.sleep(0.5)
    raise RuntimeError("Prometheus never evaluated its rules on the drift run's figures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--monitoring", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--drifted", type=Path, required=True, help="`credit data synth --drift` output")
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    batch = drifted_batch(args.drifted, args.count, seed=7)
    with (
        httpx.Client(base_url=args.gateway, headers={"X-API-Key": args.api_key}, timeout=30.0) as gateway,
        httpx.Client(base_url=args.monitoring, timeout=300.0) as monitoring,
        httpx.Client(base_url=args.prometheus, timeout=10.0) as prometheus,
    ):
        scored = score_batch(gateway, batch)
        post_outcomes(gateway, scored)
        run = run_drift(monitoring)
        show_performance(monitoring)
        show_vintages(monitoring)
        show_alerts(prometheus, run)


if __name__ == "__main__":
    try:
        main()
    except (httpx.HTTPError, RuntimeError, KeyError) as error:
        sys.exit(f"demo monitoring step failed: {error!r}")
