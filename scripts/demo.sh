#!/usr/bin/env bash
# The main job on embedded defaults: the MLflow server, the first-run bootstrap (`credit bootstrap`: data
# -> Postgres -> features -> model -> champion; skipped when a champion exists), the services as local
# processes (honcho + Procfile, Prometheus with the platform's rules among them), then scores, reasons and
# an outcome through the gateway, and the MLOps loop (scripts/demo_monitoring.py): drifted applications
# (`credit data synth --drift`), outcomes for part of them, a drift job, realised and estimated performance,
# the vintage table and the alerts that fire.
# DEMO_ONCE=1 runs it end to end and exits 0 on success; otherwise the platform stays up until Ctrl-C.
# Postgres and Redis must answer at DATABASE_URL and REDIS_URL: `make demo` runs scripts/ensure-services.sh
# first, which finds them or starts throwaway ones.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/credit}"
export MLFLOW_DATABASE_URL="${MLFLOW_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/mlflow}"
export GATEWAY_PORT="${GATEWAY_PORT:-8000}" FEATURES_PORT="${FEATURES_PORT:-8001}"
export SCORING_PORT="${SCORING_PORT:-8002}" MONITORING_PORT="${MONITORING_PORT:-8003}"
export EXPLAINER_METRICS_PORT="${EXPLAINER_METRICS_PORT:-9101}" PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
MLFLOW_PORT="${MLFLOW_PORT:-5000}"
export MLFLOW_TRACKING_URI="http://127.0.0.1:$MLFLOW_PORT"
export FEATURES_URL="http://127.0.0.1:$FEATURES_PORT" SCORING_URL="http://127.0.0.1:$SCORING_PORT"
export MONITORING_URL="http://127.0.0.1:$MONITORING_PORT"
RUN_DIR="${DEMO_RUN_DIR:-$PWD/.run/demo}"
CLIENTS="${DEMO_CLIENTS:-5000}"
TRIALS="${DEMO_TRIALS:-2}"
DRIFTED="${DEMO_DRIFTED:-400}"  # drifted applications sent after the first scores
GATEWAY="http://127.0.0.1:$GATEWAY_PORT"
PROMETHEUS="http://127.0.0.1:$PROMETHEUS_PORT"
export PROMETHEUS_DATA="$RUN_DIR/prometheus"

step() { printf '\n== %s  [%d s]\n' "$*" "$SECONDS"; }  # seconds since the demo started
children=()
cleanup() {
  for pid in "${children[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {  # url seconds what logfile
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$3 did not answer at $1 within $2 s; last lines of $4:" >&2
      tail -n 40 "$4" >&2
      exit 1
    fi
    sleep 1
  done
}

mkdir -p "$RUN_DIR"
step "starting the MLflow tracking server on port $MLFLOW_PORT (log: $RUN_DIR/mlflow.log)"
setsid python infra/mlflow/server.py --database-url "$MLFLOW_DATABASE_URL" \
  --artifacts "$RUN_DIR/mlartifacts" --port "$MLFLOW_PORT" >"$RUN_DIR/mlflow.log" 2>&1 &
children+=($!)
wait_http "$MLFLOW_TRACKING_URI/health" 180 "MLflow" "$RUN_DIR/mlflow.log"

step "bootstrap: $CLIENTS synthetic clients, features, a first model as champion (skipped when one exists)"
credit bootstrap "$RUN_DIR/data-$CLIENTS" "$CLIENTS" "$TRIALS"
credit data summary
credit model list

step "creating an API key for the demo"
API_KEY=$(credit keys create --name "demo-$(date +%Y%m%d-%H%M%S)" | tail -n 1)

step "starting the services (log: $RUN_DIR/services.log)"
setsid honcho -f Procfile start >"$RUN_DIR/services.log" 2>&1 &
children+=($!)
wait_http "$GATEWAY/readyz" 240 "the gateway" "$RUN_DIR/services.log"
wait_http "$MONITORING_URL/readyz" 120 "the monitoring service" "$RUN_DIR/services.log"
wait_http "$PROMETHEUS/-/ready" 60 "Prometheus" "$RUN_DIR/services.log"

step "scoring through the gateway"
python scripts/demo_requests.py --gateway "$GATEWAY" --api-key "$API_KEY" --database-url "$DATABASE_URL"

step "the MLOps loop: $DRIFTED drifted applications, outcomes, a drift job, performance, alerts"
drifted_dir="$RUN_DIR/drift-$CLIENTS"
if [ ! -f "$drifted_dir/oracle.csv" ]; then  # the same clients as the bootstrap data, with --drift
  credit data synth --clients "$CLIENTS" --seed 42 --out "$drifted_dir" --drift >/dev/null
fi
python scripts/demo_monitoring.py --gateway "$GATEWAY" --api-key "$API_KEY" --monitoring "$MONITORING_URL" \
  --prometheus "$PROMETHEUS" --drifted "$drifted_dir" --count "$DRIFTED"

first_client=$(python - <<'PY'
import os

from sqlalchemy import text

from services.common.db import make_engine

with make_engine(os.environ["DATABASE_URL"]).connect() as conn:
    print(conn.execute(text("SELECT min(sk_id_curr) FROM application_train")).scalar_one())
PY
)
cat <<EOT

== the platform is up
  web page      $GATEWAY/app/        (loan officers; paste the API key)
  API docs      $GATEWAY/docs        (X-API-Key: $API_KEY)
  MLflow UI     $MLFLOW_TRACKING_URI
  metrics       $GATEWAY/metrics, $FEATURES_URL/metrics, $SCORING_URL/metrics, $MONITORING_URL/metrics
  drift         $MONITORING_URL/drift/latest
  performance   $MONITORING_URL/performance, $MONITORING_URL/performance/vintages
  Prometheus    $PROMETHEUS/alerts   (the platform's rules over every service)
  try           curl -s -H 'X-API-Key: $API_KEY' -H 'Content-Type: application/json' \\
                  -d '{"client_id": $first_client}' $GATEWAY/v1/scores
EOT
if [ "${DEMO_ONCE:-}" = "1" ]; then
  step "demo finished"
  exit 0
fi
echo "Ctrl-C stops everything."
status=0
wait -n || status=$?
echo "a platform process stopped (exit $status): see $RUN_DIR/mlflow.log and $RUN_DIR/services.log" >&2
exit 1
