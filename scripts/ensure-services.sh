#!/usr/bin/env bash
# Postgres and Redis for `make demo` and `make test`, at their default local addresses:
#   1. a server that already answers there is used as it is;
#   2. otherwise a throwaway one is started from the binaries on PATH, its files under .run/ (Postgres:
#      user postgres, trust auth on 127.0.0.1; Redis: no persistence) and left running for later runs;
#   3. otherwise it stops and says what to install.
# POSTGRES_PORT, REDIS_PORT and SERVICES_RUN_DIR override 5432, 6379 and .run/ (the tests use them).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_PORT="${POSTGRES_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
RUN_DIR="${SERVICES_RUN_DIR:-$PWD/.run}"

postgres_answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null
}

redis_answers() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3<&-
  [[ $reply == +PONG* ]]
}

missing() {  # what, binary, Debian package, Homebrew formula
  cat >&2 <<EOT
$1 does not answer on 127.0.0.1 and $2 is not on PATH. Install it, then run this again:
  Debian/Ubuntu:  sudo apt-get install $3
  macOS:          brew install $4
or start your own server there (Postgres: user postgres without a password; Redis: no password).
EOT
  exit 1
}

# Postgres refuses to run as root: a root caller hands its files and processes to the postgres account.
PG_OWNER=""
if [ "$(id -u)" -eq 0 ]; then
  PG_OWNER=$(id postgres >/dev/null 2>&1 && echo postgres || echo nobody)
fi
as_pg_owner() {
  if [ -n "$PG_OWNER" ]; then runuser -u "$PG_OWNER" -- "$@"; else "$@"; fi
}

start_postgres() {
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null ||
    missing "PostgreSQL (port $PG_PORT)" "initdb" \
      "postgresql  (its binaries are in /usr/lib/postgresql/VERSION/bin: add that to PATH)" "postgresql@16"
  local dir="$RUN_DIR/postgres"
  mkdir -p "$dir"
  if [ -n "$PG_OWNER" ]; then chown "$PG_OWNER" "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg_owner initdb -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 >"$dir/initdb.log"
  fi
  echo "starting a throwaway PostgreSQL on 127.0.0.1:$PG_PORT (data and log: $dir)"
  as_pg_owner pg_ctl -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir" start >/dev/null
  echo "  stop it with: ${PG_OWNER:+runuser -u $PG_OWNER -- }pg_ctl -D $dir/data stop"
}

start_redis() {
  command -v redis-server >/dev/null || missing "Redis (port $REDIS_PORT)" "redis-server" "redis-server" "redis"
  local dir="$RUN_DIR/redis"
  mkdir -p "$dir"
  echo "starting a throwaway Redis on 127.0.0.1:$REDIS_PORT (log: $dir/redis.log)"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  echo "  stop it with: redis-cli -p $REDIS_PORT shutdown"
}

postgres_answers || start_postgres
redis_answers || start_redis
postgres_answers || { echo "PostgreSQL still does not answer on 127.0.0.1:$PG_PORT" >&2; exit 1; }
redis_answers || { echo "Redis still does not answer on 127.0.0.1:$REDIS_PORT" >&2; exit 1; }
echo "PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT answer"
