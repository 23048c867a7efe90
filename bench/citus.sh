#!/usr/bin/env bash
# Dossier submissions through a Citus coordinator against one PostgreSQL, in the same run (see
# docs/BENCHMARKS.md, issue 22 part 2). A submission writes the tenant's tables (on a worker
# under Citus) and shared ones (outbox, dossier index, sync outbox, counters: on the
# coordinator), so under Citus each one is a transaction across two nodes.
#   bench/citus.sh            # TENANTS=100 DUR=10 CONNS=32
set -euo pipefail
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk
CITUS_DIR=${CITUS_DIR:-$(cd .. && pwd)/shared/citus}
BASE=${CITUS_PORT_BASE:-9700}
"$CITUS_DIR/citus.sh" start >/dev/null

TENANTS=${TENANTS:-100}
DUR=${DUR:-10}
CONNS=${CONNS:-32}
DB=dvc_bench_citus
PORT=18086
export DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export DVC__SYNC__SECRET=bench-sync-secret DVC__SERVER__PORT=$PORT
export DVC__MAIL__WORKER_IN_PROCESS=false DVC__DOSSIERS__STORAGE_ROOT=target/bench-attachments

log "building release binaries"
cargo build --release --quiet --bin dvc --example dossiers
DVC=target/release/dvc
B=target/release/examples/dossiers

fresh_single() {
  psql -q "postgres://postgres@127.0.0.1:$PG_PORT/postgres" \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
}

fresh_citus() {  # the database on every node, the extension in each, the workers registered
  local port
  for port in $((BASE + 1)) $((BASE + 2)) $BASE; do
    psql -q "postgres://postgres@127.0.0.1:$port/postgres" \
      -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    psql -q "postgres://postgres@127.0.0.1:$port/$DB" -c "CREATE EXTENSION citus" >/dev/null
  done
  psql -q "postgres://postgres@127.0.0.1:$BASE/$DB" >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', $BASE);
SELECT citus_add_node('127.0.0.1', $((BASE + 1)));
SELECT citus_add_node('127.0.0.1', $((BASE + 2)));
SQL
}

measure() {  # label url → "rps p99 non2xx"
  export DVC__DATABASE__URL=$2
  $DVC migrate | tail -1 >&2
  $B setup "$TENANTS" >&2
  $DVC keys rotate >/dev/null
  local tokens server
  tokens=$(mktemp)
  $B tokens citizen "$tokens"
  $DVC serve >"target/bench-citus-$1.log" 2>&1 &
  server=$!
  wait_for $PORT dvc
  TOKENS=$tokens wrk -t2 -c"$CONNS" -d3s -s bench/submit.lua "http://127.0.0.1:$PORT" >/dev/null
  TOKENS=$tokens wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/submit.lua "http://127.0.0.1:$PORT" |
    awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} /^non-/ {bad=$4} END {print rps, p99, bad+0}'
  kill $server && wait $server 2>/dev/null || true
}

log "one PostgreSQL: $TENANTS tenants"
fresh_single
read -r single_rps single_p99 single_bad < <(measure single "postgres://postgres@127.0.0.1:$PG_PORT/$DB")
log "Citus coordinator + 2 workers: $TENANTS tenants"
fresh_citus
read -r citus_rps citus_p99 citus_bad < <(measure citus "postgres://postgres@127.0.0.1:$BASE/$DB")

ratio=$(awk -v a="$citus_rps" -v b="$single_rps" 'BEGIN {printf "%.2f", a / b}')
echo "submissions, $TENANTS tenants, $CONNS connections, ${DUR}s:"
echo "  one PostgreSQL  $single_rps/s  p99 $single_p99  non-2xx $single_bad"
echo "  Citus           $citus_rps/s  p99 $citus_p99  non-2xx $citus_bad"
echo "  ratio Citus / one PostgreSQL: $ratio"
