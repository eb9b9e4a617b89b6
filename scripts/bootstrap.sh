#!/usr/bin/env bash
# First-run bootstrap, shared by `make demo` and the Compose `bootstrap` service: synthetic data -> Postgres
# -> features -> training logged to MLflow -> champion. It does nothing when the registry already has a
# champion whose files load, so restarting a stack keeps its data and its model; a champion whose artifacts
# are gone (`make clean` removes .run/, the registry in Postgres stays) is replaced by a new training.
# The first model goes through the governed lifecycle like any other: trained by one named person
# (DEMO_AUTHOR), approved by a second (DEMO_APPROVER), promoted through the gates (services/model/lifecycle.py).
# Usage: scripts/bootstrap.sh DATA_DIR CLIENTS TRIALS   (DATABASE_URL and MLFLOW_TRACKING_URI from the env)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 DATA_DIR CLIENTS TRIALS" >&2
  exit 2
fi
data=$1 clients=$2 trials=$3
author=${DEMO_AUTHOR:-demo-data-scientist} approver=${DEMO_APPROVER:-demo-model-validator}

# "VERSION loads", "VERSION broken" or nothing: one interpreter for both checks (MLflow takes seconds to import)
state=$(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false python - <<'PY'
from services.model.model_store import load_version, resolve_alias

champion = resolve_alias("champion")
if champion:
    try:
        load_version(champion)
        print(champion, "loads")
    except Exception:  # any failure to load is what this check is for
        print(champion, "broken")
PY
)
read -r champion loads <<<"$state" || true
promote=(credit model promote --by "$approver")
if [ -n "${champion:-}" ]; then
  if [ "$loads" = "loads" ]; then
    echo "bootstrap: version $champion is the champion already; nothing to do"
    exit 0
  fi
  echo "bootstrap: champion version $champion cannot be loaded (its artifacts are gone); training a new one"
  # the gates cannot score a champion nobody can load: they fail, and the promotion is forced, recorded
  promote+=(--force --justification "bootstrap: champion version $champion has lost its artifacts")
fi

if [ ! -f "$data/oracle.csv" ]; then
  echo "bootstrap: generating $clients synthetic clients into $data"
  credit data synth --clients "$clients" --seed 42 --out "$data"
fi
echo "bootstrap: loading $data into Postgres"
credit data load "$data"
echo "bootstrap: building features"
credit features build
echo "bootstrap: training a first model ($trials search trials)"
trained=$(credit train --trials "$trials" --author "$author" | tee /dev/stderr)
version=$(sed -n 's/.*registered credit-scoring version \([0-9]*\).*/\1/p' <<<"$trained")
credit model approve "$version" --by "$approver" --note "bootstrap: first model of the demo, report reviewed"
"${promote[@]}" "$version"
