#!/usr/bin/env bash
# Service index (issue 21, part 3; see docs/BENCHMARKS.md): the public index page of a ministry
# rolled up over TENANTS provinces holding DOSSIERS dossiers each (spread over the last year:
# channels, fees paid online or not, decided on time or late, scanned papers, ratings), p50/p99
# with wrk at 1 and 4 connections, for a month and for the whole year, beside the JSON export
# and the same server's /healthz in the same run.
#
# The dossiers are written by SQL (fast), then the shared daily counters are computed from them
# by one aggregate per province — the figures the transitions would have counted one by one.
#   bench/service_index.sh          # TENANTS=50 DOSSIERS=100000 DUR=10
set -euo pipefail
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk

TENANTS=${TENANTS:-50}
DOSSIERS=${DOSSIERS:-100000}
DUR=${DUR:-10}
DB=dvc_bench_service_index
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=${PORT:-18091}
OUT=${OUT:-target/bench-service-index-results.md}
mkdir -p target
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
export DVC__SERVER__PORT=$PORT DVC__MAIL__WORKER_IN_PROCESS=false
export DVC__DOSSIERS__STORAGE_ROOT=target/bench-attachments

log "building the release binary"
cargo build --release --quiet --bin dvc
DVC=${CARGO_TARGET_DIR:-target}/release/dvc

if [ -z "${REUSE:-}" ]; then
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  $DVC migrate >/dev/null
  $DVC tenant apply tenants/ >/dev/null
fi
ministry=$(psql -Atq "$URL" -c "SELECT slug FROM platform.tenants WHERE kind = 'ministry' AND parent_id IS NULL ORDER BY slug LIMIT 1")

if [ -z "${REUSE:-}" ]; then
  log "creating $TENANTS provinces under $ministry and filling each with $DOSSIERS dossiers"
  t0=$(date +%s)
  for i in $(seq 1 "$TENANTS"); do
    $DVC tenant create "bench-tinh-$i" --code "BT$i" --kind province --parent "$ministry" \
      --name "Sở thử $i" --admin-email "admin$i@bench.example.vn" >/dev/null
    S=t_bench_tinh_$i
    tid=$(psql -Atq "$URL" -c "SELECT id FROM platform.tenants WHERE slug = 'bench-tinh-$i'")
    psql -q -v ON_ERROR_STOP=1 "$URL" <<SQL
BEGIN;
-- Received g % 365 days ago; 70 % decided within 0-10 days (late past 7), a third with a fee
-- (half of those paid online), a quarter at the desk and a quarter by post.
INSERT INTO $S.dossiers (id, code, procedure_code, applicant_id, applicant_name, lookup_hash,
    channel, form_data, fee_vnd, status, submitted_at, received_at, due_date, resolved_at,
    returned_at, payment_status)
SELECT gen_random_uuid(), 'BT$i-' || lpad(g::text, 7, '0'), p.codes[1 + g % p.n], gen_random_uuid(),
       'Nguyễn Văn ' || g, sha256(g::text::bytea),
       (ARRAY['online', 'online', 'counter', 'postal'])[1 + g % 4],
       jsonb_build_object('ho_ten', 'Nguyễn Văn ' || g), CASE WHEN g % 3 = 0 THEN 100000 ELSE 0 END,
       CASE WHEN g % 10 < 7 AND r + ((g % 11) || ' days')::interval < now() THEN 'returned' ELSE 'in_review' END,
       r - interval '1 hour', r, (r + interval '7 days')::date,
       CASE WHEN g % 10 < 7 AND r + ((g % 11) || ' days')::interval < now() THEN r + ((g % 11) || ' days')::interval END,
       CASE WHEN g % 10 < 7 AND r + ((g % 11) || ' days')::interval < now() THEN r + ((g % 11) || ' days')::interval END,
       CASE WHEN g % 3 = 0 THEN (CASE WHEN g % 6 = 0 THEN 'paid' ELSE 'due' END) ELSE 'none' END
  FROM generate_series(1, $DOSSIERS) g,
       (SELECT array_agg(code ORDER BY code) AS codes, count(*)::int AS n FROM $S.procedures WHERE active) p,
       LATERAL (SELECT now() - ((g % 365) || ' days')::interval - ((g % 1440) || ' minutes')::interval AS r) t;
-- Papers scanned at the desk for every other counter dossier.
INSERT INTO $S.attachments (id, dossier_id, document_index, file_name, media_type, size_bytes,
    sha256, storage_key, digitised, created_at)
SELECT gen_random_uuid(), id, 0, 'scan.pdf', 'application/pdf', 100000, encode(sha256(id::text::bytea), 'hex'),
       'bench/' || id, true, received_at
  FROM $S.dossiers WHERE channel = 'counter' AND right(code, 1) IN ('0', '2', '4', '6', '8');
INSERT INTO $S.feedback (dossier_id, rating, created_at)
SELECT id, 1 + abs(hashtext(code)) % 5, returned_at FROM $S.dossiers
 WHERE status = 'returned' AND right(code, 1) = '5';
-- The daily counters, as the transitions would have written them.
INSERT INTO platform.stats_daily (tenant_id, day, procedure_code, field_code, received,
    received_online, received_counter, received_postal, received_digitised, resolved,
    resolved_on_time, processing_seconds, resolved_with_fee, resolved_paid_online,
    rating_sum, rating_count)
SELECT '$tid', day, procedure_code, field_code, sum(received), sum(online), sum(counter),
       sum(postal), sum(digitised), sum(resolved), sum(on_time), sum(seconds), sum(with_fee),
       sum(paid), sum(rating_sum), sum(rating_count)
  FROM (
    SELECT ((d.received_at AT TIME ZONE 'UTC') + interval '7 hours')::date AS day, d.procedure_code,
           p.field_code, 1 AS received, (d.channel = 'online')::int AS online,
           (d.channel = 'counter')::int AS counter, (d.channel = 'postal')::int AS postal,
           (EXISTS (SELECT 1 FROM $S.attachments a WHERE a.dossier_id = d.id AND a.digitised))::int AS digitised,
           0 AS resolved, 0 AS on_time, 0::int8 AS seconds, 0 AS with_fee, 0 AS paid, 0 AS rating_sum, 0 AS rating_count
      FROM $S.dossiers d JOIN $S.procedures p ON p.code = d.procedure_code
    UNION ALL
    SELECT ((d.resolved_at AT TIME ZONE 'UTC') + interval '7 hours')::date, d.procedure_code, p.field_code,
           0, 0, 0, 0, 0, 1,
           (((d.resolved_at AT TIME ZONE 'UTC') + interval '7 hours')::date <= d.due_date)::int,
           extract(epoch FROM d.resolved_at - d.received_at)::int8,
           (d.payment_status <> 'none')::int, (d.payment_status IN ('paid', 'refunded'))::int, 0, 0
      FROM $S.dossiers d JOIN $S.procedures p ON p.code = d.procedure_code WHERE d.resolved_at IS NOT NULL
    UNION ALL
    SELECT ((f.created_at AT TIME ZONE 'UTC') + interval '7 hours')::date, d.procedure_code, p.field_code,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, f.rating, 1
      FROM $S.feedback f JOIN $S.dossiers d ON d.id = f.dossier_id JOIN $S.procedures p ON p.code = d.procedure_code
  ) x
 GROUP BY day, procedure_code, field_code;
-- And per month, as record() writes them beside the days.
INSERT INTO platform.stats_monthly (tenant_id, month, procedure_code, field_code, received, received_online, received_counter, received_postal, resolved, resolved_on_time, processing_seconds, rating_sum, rating_count, paid_count, paid_amount, received_digitised, results_issued, results_digitised, resolved_with_fee, resolved_paid_online, complaints_received, complaints_answered, complaints_answered_on_time)
SELECT tenant_id, date_trunc('month', day)::date, procedure_code, min(field_code), sum(received), sum(received_online), sum(received_counter), sum(received_postal), sum(resolved), sum(resolved_on_time), sum(processing_seconds), sum(rating_sum), sum(rating_count), sum(paid_count), sum(paid_amount), sum(received_digitised), sum(results_issued), sum(results_digitised), sum(resolved_with_fee), sum(resolved_paid_online), sum(complaints_received), sum(complaints_answered), sum(complaints_answered_on_time)
  FROM platform.stats_daily WHERE tenant_id = '$tid'
 GROUP BY tenant_id, date_trunc('month', day), procedure_code;
INSERT INTO platform.stats_open (tenant_id, procedure_code, field_code, in_progress)
SELECT '$tid', d.procedure_code, p.field_code, count(*)
  FROM $S.dossiers d JOIN $S.procedures p ON p.code = d.procedure_code
 WHERE d.resolved_at IS NULL GROUP BY 2, 3;
COMMIT;
SQL
    [ $((i % 10)) -eq 0 ] && log "  $i provinces filled ($(( $(date +%s) - t0 )) s)"
  done
  # Live portals (tenant create leaves them drafts, whose portal is not public yet).
  psql -q "$URL" -c "UPDATE platform.tenants SET status = 'active' WHERE slug LIKE 'bench-tinh-%'"
  psql -q "$URL" -c "VACUUM ANALYZE"
fi
dossiers=$(psql -Atq "$URL" -c "SELECT sum(received) FROM platform.stats_daily")
counter_rows=$(psql -Atq "$URL" -c "SELECT count(*) FROM platform.stats_daily")
month_rows=$(psql -Atq "$URL" -c "SELECT count(*) FROM platform.stats_monthly")
db_mb=$(psql -Atq "$URL" -c "SELECT pg_database_size('$DB') / 1000000")

$DVC serve >target/bench-service-index-serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_for "$PORT" dvc
base="http://127.0.0.1:$PORT"
year=$(date +%Y)
month=$(date +%Y-%m)
tenants=$(curl -fsS -H "Host: $ministry.localhost" "$base/api/v1/stats/service-index?year=$year" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tenants"]))')
curl -fsS -o /dev/null -H "Host: $ministry.localhost" "$base/chi-so-phuc-vu?year=$year"

# wrk's figures: requests/s, p50, p99, answers other than 2xx/3xx + socket errors.
stats() { awk 'BEGIN {bad=0; to=0} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {to=$NF} END {print rps, p50, p99, bad "+" to}'; }
run() { # name tenant path connections (the portal answers on the tenant's host)
  wrk -t1 -c"$4" -d2s -H "Host: $2.localhost" "$base$3" >/dev/null
  read -r rps p50 p99 bad < <(wrk -t1 -c"$4" -d"${DUR}s" --timeout 30s --latency -H "Host: $2.localhost" "$base$3" | stats)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$4" "$rps" "$p50" "$p99" "$bad" | tee -a "$OUT.rows"
}
: >"$OUT.rows"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in 1 4; do
  run "index page, ministry, year $year" "$ministry" "/chi-so-phuc-vu?year=$year" "$c"
  run "index page, ministry, month $month" "$ministry" "/chi-so-phuc-vu?period=$month" "$c"
  run "JSON export, ministry, year $year" "$ministry" "/api/v1/stats/service-index?year=$year" "$c"
  run "index page, one province, year $year" bench-tinh-1 "/chi-so-phuc-vu?year=$year" "$c"
  run "/healthz (same server)" "$ministry" "/healthz" "$c"
done
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

{
  echo "### Service index ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "$ministry rolled up over $tenants tenants ($TENANTS provinces of $DOSSIERS dossiers: $dossiers received in all, $counter_rows daily and $month_rows monthly counter rows; database $db_mb MB). wrk, ${DUR}s per row after a 2 s warm-up."
  echo
  echo "| request | connections | req/s | p50 | p99 | non-2xx+errors |"
  echo "|---|---|---|---|---|---|"
  cat "$OUT.rows"
} | tee "$OUT"
rm -f "$OUT.rows"
