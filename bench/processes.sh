#!/usr/bin/env bash
# Declared-process benchmarks (issue 18; see docs/BENCHMARKS.md), in one run on one database:
#  - action throughput over TENANTS provinces: the five-step process (POST …/step) against the
#    fixed path (POST …/actions) at the same concurrency, rounds alternating (examples/processes
#    drive: every request a valid action, versions tracked per dossier);
#  - the leader's per-unit late-dossier view (GET /api/v1/steps/load) of a province with
#    100,000 dossiers and COMMUNES communes below it, p99 with wrk at 1, 4 and 16 connections,
#    once with OPEN_PCT % of the dossiers open (the rest returned) and once with all of them open;
#  - where the time of one action goes on either path (examples/processes profile: the store
#    functions the handlers call, every statement timed), and the load view's SQL in process
#    against a proposal that counts in PostgreSQL (examples/processes load-sql).
#   bench/processes.sh          # TENANTS=1000 PER_TENANT=25 DUR=10 ROUNDS=3 CONNS=64 COMMUNES=300
set -euo pipefail
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk

TENANTS=${TENANTS:-1000}
PER_TENANT=${PER_TENANT:-25}
DUR=${DUR:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
COMMUNES=${COMMUNES:-300}
DOSSIERS=${DOSSIERS:-100000}
OPEN_PCT=${OPEN_PCT:-10}
LATE_PCT=${LATE_PCT:-20}
DB=dvc_bench_processes
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=${PORT:-18087}
OUT=${OUT:-target/bench-processes-results.md}
mkdir -p target
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export DVC__SYNC__SECRET=bench-sync-secret DVC__SERVER__PORT=$PORT
export DVC__MAIL__WORKER_IN_PROCESS=false DVC__DOSSIERS__STORAGE_ROOT=target/bench-attachments

log "building release binaries"
cargo build --release --quiet --bin dvc --example processes
BIN=${CARGO_TARGET_DIR:-target}/release
DVC=$BIN/dvc
B=$BIN/examples/processes

log "creating $DB: a ministry with $TENANTS provinces; province tinh-tai with $COMMUNES communes"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
$DVC migrate >/dev/null
$B setup "$TENANTS"
$B fill "$PER_TENANT"
$B setup-load "$COMMUNES"
$DVC keys rotate >/dev/null
OFFICIALS=$(mktemp) LEADER=$(mktemp)
$B tokens "$OFFICIALS"
$B leader-token tinh-tai "$LEADER"

$DVC serve >target/bench-processes-serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_for $PORT dvc
base="http://127.0.0.1:$PORT"

log "throughput: process and fixed path, $CONNS connections, $ROUNDS rounds of ${DUR}s each (load average $(cut -d' ' -f1-3 /proc/loadavg))"
$B drive "$OFFICIALS" "$base" "$CONNS" "$DUR" "$ROUNDS" | tee target/bench-processes-drive.txt
read -r _ _ p_rps p_p50 p_p99 p_err p_n < <(grep '^RESULT process' target/bench-processes-drive.txt)
read -r _ _ f_rps f_p50 f_p99 f_err f_n < <(grep '^RESULT fixed' target/bench-processes-drive.txt)
log "load average after the throughput rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
log "where an action's time goes (store functions, no HTTP, server idle): proc-$TENANTS"
$B profile "proc-$TENANTS" 20 | tee target/bench-processes-profile.txt

# wrk's own count of answers other than 2xx/3xx (absent when there were none) and timeouts.
stats() { awk 'BEGIN {bad=0; to=0} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {to=$NF} END {print rps, p50, p99, bad "+" to}'; }
load_run() { # connections -> "rps p50 p99 bad"
  SLUG=tinh-tai STATS_PATH=/api/v1/steps/load TOKENS=$LEADER wrk -t1 -c"$1" -d2s --timeout 60s -s bench/stats.lua "$base" >/dev/null
  SLUG=tinh-tai STATS_PATH=/api/v1/steps/load TOKENS=$LEADER wrk -t1 -c"$1" -d"${DUR}s" --timeout 60s --latency -s bench/stats.lua "$base" | stats
}
declare -A LOAD
: >target/bench-processes-load.txt
for open in "$OPEN_PCT" 100; do
  log "load view: $DOSSIERS dossiers, $open % open at a step, $LATE_PCT % of those late"
  $B fill-load "$DOSSIERS" "$open" "$LATE_PCT" | tee -a target/bench-processes-load.txt
  for c in 1 4 16; do
    LOAD[$open,$c]=$(load_run "$c")
    echo "open $open %, $c connections: ${LOAD[$open,$c]} (req/s p50 p99 non-2xx+timeouts)"
  done
  $B load-sql 20 | tee -a target/bench-processes-load.txt
done
kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "| measurement | figure | ratio / target |"
  echo "|---|---|---|"
  echo "| fixed path \`POST …/actions\` (start_review → approve → return), $TENANTS provinces, $CONNS connections | $f_rps actions/s (p50 $f_p50 ms, p99 $f_p99 ms; $f_n actions, errors: $f_err) | 1 |"
  echo "| five-step process \`POST …/step\` (forward ×3 → decide → forward), same run | $p_rps actions/s (p50 $p_p50 ms, p99 $p_p99 ms; $p_n actions, errors: $p_err) | **$(ratio "$p_rps" "$f_rps")** of the fixed path (≥ 0.8) |"
  for open in "$OPEN_PCT" 100; do
    for c in 1 4 16; do
      read -r rps p50 p99 bad <<<"${LOAD[$open,$c]}"
      echo "| \`GET /api/v1/steps/load\`, tinh-tai, $DOSSIERS dossiers ($open % open), $c connections | $rps req/s, p50 $p50, **p99 $p99** (non-2xx + timeouts: $bad) | p99 ≤ 100 ms |"
    done
  done
} | tee "$OUT"
echo "driver output: target/bench-processes-drive.txt; profile: target/bench-processes-profile.txt; load view plans: target/bench-processes-load.txt"
