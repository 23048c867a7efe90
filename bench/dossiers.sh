#!/usr/bin/env bash
# Dossier benchmarks (see docs/BENCHMARKS.md), side by side in one run:
#  - submission (validation + insert + event + index + sync outbox) over 1,000 tenants, against
#    pgbench running the same inserts as one transaction at the same concurrency;
#  - statistics of a tenant with 100,000 dossiers, and of a ministry over 50 child tenants.
#   bench/dossiers.sh            # TENANTS=1000 DUR=10 CONNS=64
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-client

TENANTS=${TENANTS:-1000}
DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench_dossiers
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=18085
OUT=${OUT:-target/bench-dossiers-results.md}
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export DVC__SYNC__SECRET=bench-sync-secret DVC__SERVER__PORT=$PORT
export DVC__MAIL__WORKER_IN_PROCESS=false DVC__DOSSIERS__STORAGE_ROOT=target/bench-attachments

log "building release binaries"
cargo build --release --quiet --bin dvc --example dossiers
DVC=target/release/dvc
B=target/release/examples/dossiers

log "creating $DB: a ministry with $TENANTS provinces, and one with 50"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
$DVC migrate >/dev/null
$B setup "$TENANTS"
$B setup-stats 50
$DVC keys rotate >/dev/null
CITIZENS=$(mktemp) LEADERS=$(mktemp)
$B tokens citizen "$CITIZENS"
$B tokens leader "$LEADERS"

$DVC serve >target/bench-dossiers-serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_for $PORT dvc
base="http://127.0.0.1:$PORT"
stats() { awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} /^non-/ {bad=$2} END {print rps, p99, bad}'; }

log "dvc: submissions over $TENANTS tenants"
TOKENS=$CITIZENS wrk -t2 -c"$CONNS" -d3s -s bench/submit.lua "$base" >/dev/null
read -r sub_rps sub_p99 sub_bad < <(TOKENS=$CITIZENS wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/submit.lua "$base" | stats)

log "dvc: gateway IPNs settling pending payments, in the same run"
# 15,000 different pending payments: more than a run settles, so every IPN measured does real
# work (no warm-up: it would use some up; the server is warm from the submissions).
$B payments 100 150 target/bench-ipns.txt
paid_before=$(psql -tA "$URL" -c "SELECT coalesce(sum(paid_count), 0) FROM platform.stats_daily")
read -r ipn_rps ipn_p99 _ < <(IPNS=target/bench-ipns.txt wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/ipn.lua "$base" | stats)
paid_after=$(psql -tA "$URL" -c "SELECT coalesce(sum(paid_count), 0) FROM platform.stats_daily")

log "pgbench: the same inserts as one transaction"
script=$(mktemp --suffix=.sql)
$B pgbench-script >"$script"
pg_tps=$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DUR" -D tenants="$TENANTS" -f "$script" "$URL" 2>/dev/null | awk '/^tps/ {print $3}')

log "statistics: filling stats-01..50 (2,000 dossiers each) and bench-0001 (100,000)"
for i in $(seq -w 1 50); do $B fill "stats-$i" 2000 >/dev/null; done
$B fill bench-0001 100000
$B explain bench-0001 bo-stats >target/bench-dossiers-plans.txt
stat_run() { # slug path -> "rps p99 bad"
  SLUG=$1 STATS_PATH=$2 TOKENS=$LEADERS wrk -t2 -c4 -d3s -s bench/stats.lua "$base" >/dev/null
  SLUG=$1 STATS_PATH=$2 TOKENS=$LEADERS wrk -t2 -c4 -d"${DUR}s" --latency -s bench/stats.lua "$base" | stats
}
read -r one_rps one_p99 one_bad < <(stat_run bench-0001 "/api/v1/stats?rollup=false")
read -r min_rps min_p99 min_bad < <(stat_run bo-stats "/api/v1/stats")
kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "| measurement | figure | ratio |"
  echo "|---|---|---|"
  echo "| pgbench: the submission's inserts as one transaction, $TENANTS schemas, $CONNS connections | $pg_tps tps | 1 |"
  echo "| dvc \`POST /api/v1/dossiers\` (token, form validation, same inserts), $TENANTS tenants | $sub_rps req/s (p99 $sub_p99, non-201: $sub_bad) | $(ratio "$sub_rps" "$pg_tps") of pgbench |"
  echo "| dvc \`GET /api/v1/payments/ipn\` (signature, merchant, amount, settlement, receipt mail, statistics), 100 tenants | $ipn_rps req/s (p99 $ipn_p99; payments settled during the run: $((paid_after - paid_before))) | $(ratio "$ipn_rps" "$sub_rps") of submissions |"
  echo "| dvc \`GET /api/v1/stats\`, one tenant with 100,000 dossiers, 4 connections | $one_rps req/s, p99 $one_p99 (non-200: $one_bad) | |"
  echo "| dvc \`GET /api/v1/stats\`, ministry rolled up over 50 tenants (100,000 dossiers), 4 connections | $min_rps req/s, p99 $min_p99 (non-200: $min_bad) | |"
} | tee "$OUT"
echo "query plans: target/bench-dossiers-plans.txt"
