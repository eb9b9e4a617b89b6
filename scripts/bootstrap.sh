#!/usr/bin/env bash
# First-run bootstrap, shared by `make demo` and the Compose `bootstrap` service: synthetic data -> Postgres
# -> features -> training logged to MLflow -> champion. It does nothing when the registry already has a
# champion whose files load, so restarting a stack keeps its data and its model; a champion whose artifacts
# are gone (`make clean` removes .run/, the registry in Postgres stays) is replaced by a new training.
# Usage: scripts/bootstrap.sh DATA_DIR CLIENTS TRIALS   (DATABASE_URL and MLFLOW_TRACKING_URI from the env)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 DATA_DIR CLIENTS TRIALS" >&2
  exit 2
fi
data=$1 clients=$2 trials=$3

champion=$(python -c "from services.model.model_store import resolve_alias; print(resolve_alias('champion') or '')")
promote=(credit model promote)
if [ -n "$champion" ]; then
  if python -c "from services.model.model_store import load_version; load_version('$champion')" 2>/dev/null; then
    echo "bootstrap: version $champion is the champion already; nothing to do"
    exit 0
  fi
  echo "bootstrap: champion version $champion cannot be loaded (its artifacts are gone); training a new one"
  promote+=(--force)  # the old champion's metrics cannot be compared with a model nobody can load
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
trained=$(credit train --trials "$trials" | tee /dev/stderr)
version=$(sed -n 's/.*registered credit-scoring version \([0-9]*\).*/\1/p' <<<"$trained")
"${promote[@]}" "$version"
