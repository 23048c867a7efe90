#!/usr/bin/env bash
# Dossier submissions through a Citus coordinator against one PostgreSQL, in the same run (see
# docs/BENCHMARKS.md, issue 22 part 2). A submission writes the tenant's tables (on a worker
# under Citus) and a shared one (the dossier index, on the coordinator). Three runs: one
# PostgreSQL; Citus with the shared write in the submission's transaction (`direct`); Citus
# with it relayed through the tenant's own node and applied by `dvc worker` (`relay`), the
# worker running during the measurement and its drain checked at the end.
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

dossiers_in() {  # url → dossiers stored in every tenant schema, index rows
  psql -X -At "$1" -c "SELECT (SELECT count(*) FROM platform.dossier_index)" | tr -d ' '
}

measure() {  # label url shared_writes → "rps p99 non2xx"
  export DVC__DATABASE__URL=$2 DVC__DATABASE__SHARED_WRITES=$3
  $DVC migrate | tail -1 >&2
  $B setup "$TENANTS" >&2
  $DVC keys rotate >/dev/null
  local tokens server worker="" out
  tokens=$(mktemp)
  $B tokens citizen "$tokens"
  $DVC serve >"target/bench-citus-$1.log" 2>&1 &
  server=$!
  if [ "$3" = relay ]; then
    $DVC worker >"target/bench-citus-$1-worker.log" 2>&1 &
    worker=$!
  fi
  wait_for $PORT dvc
  TOKENS=$tokens wrk -t2 -c"$CONNS" -d3s -s bench/submit.lua "http://127.0.0.1:$PORT" >/dev/null
  local before; before=$(dossiers_in "$2")
  out=$(TOKENS=$tokens wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/submit.lua "http://127.0.0.1:$PORT")
  # Every accepted submission's index row, whether written directly or relayed.
  local accepted; accepted=$(awk '/requests in/ {print $1}' <<<"$out")
  local want=$((before + accepted)) have waited=0
  while have=$(dossiers_in "$2"); [ "$have" -lt "$want" ] && [ $waited -lt 300 ]; do
    sleep 0.1; waited=$((waited + 1))
  done
  echo "  $1: $have index rows of $want accepted, $((waited * 100)) ms after the load stopped" >&2
  awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} /^non-/ {bad=$4} END {print rps, p99, bad+0}' <<<"$out"
  kill $server ${worker:+$worker} && wait $server ${worker:+$worker} 2>/dev/null || true
}

log "one PostgreSQL: $TENANTS tenants"
fresh_single
read -r single_rps single_p99 single_bad < <(measure single "postgres://postgres@127.0.0.1:$PG_PORT/$DB" direct)
log "Citus coordinator + 2 workers, shared writes direct: $TENANTS tenants"
fresh_citus
read -r direct_rps direct_p99 direct_bad < <(measure citus-direct "postgres://postgres@127.0.0.1:$BASE/$DB" direct)
log "Citus coordinator + 2 workers, shared writes relayed: $TENANTS tenants"
fresh_citus
read -r relay_rps relay_p99 relay_bad < <(measure citus-relay "postgres://postgres@127.0.0.1:$BASE/$DB" relay)

ratio() { awk -v a="$1" -v b="$single_rps" 'BEGIN {printf "%.2f", a / b}'; }
echo "submissions, $TENANTS tenants, $CONNS connections, ${DUR}s:"
echo "  one PostgreSQL        $single_rps/s  p99 $single_p99  non-2xx $single_bad"
echo "  Citus, direct         $direct_rps/s  p99 $direct_p99  non-2xx $direct_bad  ratio $(ratio "$direct_rps")"
echo "  Citus, relayed        $relay_rps/s  p99 $relay_p99  non-2xx $relay_bad  ratio $(ratio "$relay_rps")"
