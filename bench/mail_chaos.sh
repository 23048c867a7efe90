#!/usr/bin/env bash
# Duplicate deliveries while mail workers are killed (issue 15, item 15): MESSAGES mails are
# queued, two `dvc worker` processes deliver them to a real SMTP server (aiosmtpd, one file per
# accepted message), and one worker is killed with SIGKILL every KILL_EVERY seconds and started
# again, until every row is sent. Counts what the server received by Message-ID: a message
# delivered twice is one whose 250 came back but whose `sent` was not recorded before the kill.
#   bench/mail_chaos.sh            # MESSAGES=5000 KILL_EVERY=1 LEASE=5
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v bc >/dev/null || apt_install bc

MESSAGES=${MESSAGES:-5000}
KILL_EVERY=${KILL_EVERY:-1}
LEASE=${LEASE:-5}
DB=dvc_bench_chaos
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
SMTP_CHAOS_PORT=2527
MAILBOX=$(mktemp -d)
OUT=${OUT:-target/bench-mail-chaos.md}

log "building the release binary"
cargo build --release --quiet --bin dvc
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=error DVC_CONFIG_DIR=/nonexistent
export DVC__SMTP__PORT=$SMTP_CHAOS_PORT DVC__MAIL__LEASE_SECS=$LEASE DVC__MAIL__PER_TENANT_PER_MINUTE=0
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
target/release/dvc migrate >/dev/null

/usr/bin/python3 tests/smtp/server.py $SMTP_CHAOS_PORT "$MAILBOX" >/dev/null 2>&1 &
SMTP_PID=$!
WORKERS=()
cleanup() {
  kill "${WORKERS[@]}" "$SMTP_PID" 2>/dev/null || true
  rm -rf "$MAILBOX"
}
trap cleanup EXIT
wait_for $SMTP_CHAOS_PORT "SMTP server"

psql -q "$URL" -c "INSERT INTO platform.outbox (template, locale, recipient, payload, idempotency_key)
  SELECT 'test', 'vi', 'chaos' || i || '@example.vn', '{}'::jsonb, 'chaos-' || i
  FROM generate_series(1, $MESSAGES) AS i"

start_worker() { target/release/dvc worker >/dev/null 2>&1 & WORKERS[$1]=$!; }
start_worker 0
start_worker 1
started=$(date +%s.%N)
kills=0
pending() { psql -tAq "$URL" -c "SELECT count(*) FROM platform.outbox WHERE status <> 'sent'"; }
while [ "$(pending)" != 0 ]; do
  sleep "$KILL_EVERY"
  victim=$((kills % 2))
  kill -9 "${WORKERS[$victim]}" 2>/dev/null || true
  wait "${WORKERS[$victim]}" 2>/dev/null || true
  start_worker $victim
  kills=$((kills + 1))
done
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
kill "${WORKERS[@]}" 2>/dev/null || true

received=$(ls "$MAILBOX/new" | wc -l)
distinct=$(grep -h -i '^Message-ID:' "$MAILBOX"/new/* | sort -u | wc -l)
duplicates=$((received - distinct))
rate=$(echo "scale=3; 100 * $duplicates / $MESSAGES" | bc)
{
  echo "- $MESSAGES mails, two workers, one killed (SIGKILL) every ${KILL_EVERY}s and restarted: $kills kills in ${elapsed%.*} s"
  echo "- received $received, distinct Message-IDs $distinct (every mail: $([ "$distinct" = "$MESSAGES" ] && echo yes || echo NO)), delivered twice $duplicates = $rate %"
} | tee "$OUT"
