#!/usr/bin/env bash
# Tenancy benchmarks, side by side in one run (see docs/BENCHMARKS.md).
#   bench/run.sh                 # 1,000 tenants, 64 connections, 10 s per measurement
#   TENANTS=1000 DUR=10 CONNS=64 REUSE_DB=1 bench/run.sh
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
# `dvc serve` refuses to start without a master key (a throwaway one for the bench).
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-client

TENANTS=${TENANTS:-1000}
DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=18080
OUT=${OUT:-target/bench-results.md}

log "building release binaries"
cargo build --release --quiet --bin dvc --example hello --example tenancy
DVC=target/release/dvc
TENANCY=target/release/examples/tenancy

export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC__SERVER__PORT=$PORT
export DVC_CONFIG_DIR=/nonexistent

if [ "${REUSE_DB:-0}" != 1 ]; then
  log "creating $DB with $TENANTS tenants"
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  $DVC migrate >/dev/null
  $TENANCY setup "$URL" "$TENANTS" 20
fi

wrk_rps() { # url tenants -> "rps p99"
  TENANTS=$2 wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/round_robin.lua "$1" \
    | awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} END {print rps, p99}'
}
warm() { TENANTS=$2 wrk -t2 -c"$CONNS" -d"$3s" -s bench/round_robin.lua "$1" >/dev/null; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
backends() { # -> "count private_kb"
  local pids total=0 n=0
  pids=$(psql -tA "$ADMIN" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'")
  for p in $pids; do
    kb=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s + 0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + kb)); n=$((n + 1))
  done
  echo "$n $total"
}

start_dvc() { # extra env assignments…
  env "$@" $DVC serve >target/bench-serve.log 2>&1 &
  SERVER=$!
  wait_for $PORT dvc
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

base="http://127.0.0.1:$PORT"

log "bare actix-web hello"
target/release/examples/hello 18081 >/dev/null 2>&1 &
HELLO=$!
wait_for 18081 hello
read -r hello_rps hello_p99 < <(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency http://127.0.0.1:18081/hello \
  | awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} END {print rps, p99}')
stop $HELLO

for mode in cached uncached; do
  if [ $mode = cached ]; then start_dvc DVC__CATALOG__CACHE=true; else start_dvc DVC__CATALOG__CACHE=false; fi
  log "dvc $mode: memory at 10 tenants, then at $TENANTS"
  warm "$base" 10 5
  dvc10=$(rss_kb $SERVER); read -r nb10 pg10 < <(backends)
  warm "$base" "$TENANTS" 5
  dvcN=$(rss_kb $SERVER); read -r nbN pgN < <(backends)
  log "dvc $mode: throughput over $TENANTS tenants, then over 1"
  read -r rpsN p99N < <(wrk_rps "$base" "$TENANTS")
  read -r rps1 p991 < <(wrk_rps "$base" 1)
  stop $SERVER
  eval "${mode}_rpsN=$rpsN ${mode}_p99N=$p99N ${mode}_rps1=$rps1 ${mode}_p991=$p991"
  eval "${mode}_dvc10=$dvc10 ${mode}_dvcN=$dvcN ${mode}_nb10=$nb10 ${mode}_pg10=$pg10 ${mode}_nbN=$nbN ${mode}_pgN=$pgN"
done

log "pgbench: the same SQL transaction over $TENANTS schemas and over 1"
script=$(mktemp --suffix=.sql)
$TENANCY pgbench-script >"$script"
pgb() { pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DUR" -D tenants="$1" -f "$script" "$URL" 2>/dev/null \
  | awk '/^tps/ {print $3}'; }
pg_tpsN=$(pgb "$TENANTS")
pg_tps1=$(pgb 1)

log "dvc migrate: one new migration over every tenant"
migrate_line=$($TENANCY migrate "$URL" 4)
log "provisioning 100 new tenants at $TENANTS existing"
provision_line=$($TENANCY provision "$URL" 100 20)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
{
  echo "| measurement | figure | ratio |"
  echo "|---|---|---|"
  echo "| bare actix-web JSON hello | $hello_rps req/s (p99 $hello_p99) | 1 |"
  echo "| dvc \`GET /api/v1/procedures\`, cached, $TENANTS tenants | $cached_rpsN req/s (p99 $cached_p99N) | $(ratio "$cached_rpsN" "$hello_rps") of hello |"
  echo "| dvc same, cached, 1 tenant | $cached_rps1 req/s (p99 $cached_p991) | $TENANTS vs 1: $(ratio "$cached_rpsN" "$cached_rps1") |"
  echo "| pgbench, same SQL transaction, $TENANTS schemas | $pg_tpsN tps | 1 |"
  echo "| dvc same read, cache bypassed, $TENANTS tenants | $uncached_rpsN req/s (p99 $uncached_p99N) | $(ratio "$uncached_rpsN" "$pg_tpsN") of pgbench |"
  echo "| pgbench, same SQL, 1 schema | $pg_tps1 tps | |"
  echo "| dvc cache bypassed, 1 tenant | $uncached_rps1 req/s (p99 $uncached_p991) | $TENANTS vs 1: $(ratio "$uncached_rpsN" "$uncached_rps1"); $(ratio "$uncached_rps1" "$pg_tps1") of pgbench |"
  echo "| dvc RSS, cached, after 10 / $TENANTS tenants | $(mb "$cached_dvc10") / $(mb "$cached_dvcN") | |"
  echo "| dvc RSS, uncached, after 10 / $TENANTS tenants | $(mb "$uncached_dvc10") / $(mb "$uncached_dvcN") | |"
  echo "| PostgreSQL backends' private memory (uncached run), after 10 / $TENANTS tenants | $(mb "$uncached_pg10") in $uncached_nb10 / $(mb "$uncached_pgN") in $uncached_nbN backends | |"
  echo
  echo "- $migrate_line"
  echo "- $provision_line"
} | tee "$OUT"
