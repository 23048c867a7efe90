#!/usr/bin/env bash
# Mail benchmarks (see docs/BENCHMARKS.md): worker throughput against a bare pooled lettre
# sender, the cost of enqueueing, and queue lag while the API is under load.
#   bench/mail.sh            # MESSAGES=1000 WRITES=1000 LAG_SECS=20 LAG_RATE=20
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
# `dvc serve` refuses to start without a master key (a throwaway one for the bench).
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk

MESSAGES=${MESSAGES:-1000}
WRITES=${WRITES:-1000}
LAG_SECS=${LAG_SECS:-20}
LAG_RATE=${LAG_RATE:-20}
DB=dvc_bench_mail
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
SMTP_BENCH_PORT=2526
MAILBOX=$(mktemp -d)
OUT=${OUT:-target/bench-mail-results.md}

log "building release binaries"
cargo build --release --quiet --bin dvc --example mail
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
target/release/dvc migrate >/dev/null
target/release/dvc tenant apply tenants/ >/dev/null

/usr/bin/python3 tests/smtp/server.py $SMTP_BENCH_PORT "$MAILBOX" >/dev/null 2>&1 &
SMTP_PID=$!
trap 'kill $SMTP_PID 2>/dev/null; rm -rf "$MAILBOX"' EXIT
wait_for $SMTP_BENCH_PORT "SMTP server"

log "throughput: $MESSAGES messages"
throughput=$(target/release/examples/mail throughput "$URL" $SMTP_BENCH_PORT "$MESSAGES")
log "enqueue cost: $WRITES writes"
enqueue=$(target/release/examples/mail enqueue "$URL" "$WRITES")

log "queue lag at $LAG_RATE/s for $LAG_SECS s while wrk loads the API (worker inside dvc serve)"
DVC__SERVER__PORT=18090 DVC__SMTP__PORT=$SMTP_BENCH_PORT DVC__MAIL__WORKER_IN_PROCESS=true \
  DVC__MAIL__PER_TENANT_PER_MINUTE=0 target/release/dvc serve >/dev/null 2>&1 &
SERVER=$!
wait_for 18090 dvc
wrk -t2 -c64 -d"$((LAG_SECS + 5))s" http://127.0.0.1:18090/t/ha-noi/api/v1/procedures >target/bench-mail-wrk.txt &
WRK=$!
lag=$(target/release/examples/mail lag "$URL" "$LAG_SECS" "$LAG_RATE")
wait $WRK
api=$(awk '/^Requests\/sec/ {print $2}' target/bench-mail-wrk.txt)
kill $SERVER; wait $SERVER 2>/dev/null || true

{
  echo "- $throughput"
  echo "- $enqueue"
  echo "- $lag (API meanwhile: $api req/s on /t/ha-noi/api/v1/procedures, 64 connections)"
} | tee "$OUT"
