#!/usr/bin/env bash
# Hosting-operations figures (see docs/BENCHMARKS.md), in one run:
# - onboarding: `dvc tenant create` of a province under a ministry with its catalog (schema,
#   inherited procedures, portal client, invitation mail queued), N times, median and worst;
# - export/import of a tenant holding DOSSIERS dossiers (with their events), in MB/s, against
#   pg_dump / psql restore of the same schema in the same run.
#   bench/tenants.sh             # RUNS=20 DOSSIERS=100000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services

RUNS=${RUNS:-20}
DOSSIERS=${DOSSIERS:-100000}
DB=dvc_bench_tenants
DB2=dvc_bench_tenants_import
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
URL2=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB2
OUT=${OUT:-target/bench-tenants-results.md}
WORK=$(mktemp -d); echo "work: $WORK" >&2
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
export DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__DOSSIERS__STORAGE_ROOT=$WORK/storage
# One master key for both deployments: export signs the manifest, import checks the signature.
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}

log "building the release binary"
cargo build --release --quiet --bin dvc
DVC=target/release/dvc

for d in $DB $DB2; do
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" -c "CREATE DATABASE $d"
done
DVC__DATABASE__URL=$URL $DVC migrate >/dev/null
DVC__DATABASE__URL=$URL2 $DVC migrate >/dev/null
DVC__DATABASE__URL=$URL $DVC tenant apply tenants/ >/dev/null
DVC__DATABASE__URL=$URL2 $DVC tenant apply tenants/ >/dev/null
ministry=$(psql -Atq "$URL" -c "SELECT slug FROM platform.tenants WHERE kind = 'ministry' ORDER BY slug LIMIT 1")
procs=$(psql -Atq "$URL" -c "SELECT count(*) FROM t_${ministry//-/_}.procedures WHERE active")

log "onboarding $RUNS provinces under $ministry ($procs procedures each)"
times=(); walls=()
for i in $(seq 1 "$RUNS"); do
  t0=$(date +%s%N)
  line=$(DVC__DATABASE__URL=$URL $DVC tenant create "bench-tinh-$i" --code "BT$i" --kind province \
    --parent "$ministry" --name "Sở thử $i" --admin-email "admin$i@bench.example.vn")
  t1=$(date +%s%N)
  times+=($(echo "$line" | sed 's/.* in \([0-9]*\) ms.*/\1/'))
  walls+=($(( (t1 - t0) / 1000000 )))
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
onboard_median=$(median "${times[@]}")
onboard_max=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
wall_median=$(median "${walls[@]}")

log "filling bench-tinh-1 with $DOSSIERS dossiers and their events"
S=t_bench_tinh_1
proc=$(psql -Atq "$URL" -c "SELECT code FROM $S.procedures ORDER BY code LIMIT 1")
psql -q "$URL" <<SQL
INSERT INTO $S.dossiers (id, code, procedure_code, applicant_id, applicant_name, applicant_email,
    lookup_hash, form_data, fee_vnd, status, submitted_at, received_at, due_date)
SELECT gen_random_uuid(), 'BT1-261129-' || lpad(g::text, 6, '0'), '$proc', gen_random_uuid(),
       'Nguyễn Văn ' || g, 'dan' || g || '@example.vn', sha256(g::text::bytea),
       jsonb_build_object('ho_ten', 'Nguyễn Văn ' || g, 'ngay_sinh', '1990-01-01', 'dia_chi', 'Số ' || g || ' phố Thử, Hà Nội'),
       100000, 'received', now() - (g || ' minutes')::interval, now(), current_date + 5
  FROM generate_series(1, $DOSSIERS) g;
INSERT INTO $S.dossier_events (dossier_id, seq, actor_role, from_status, to_status, at)
SELECT id, s, 'officer', CASE s WHEN 1 THEN NULL ELSE 'submitted' END,
       CASE s WHEN 1 THEN 'submitted' ELSE 'received' END, submitted_at
  FROM $S.dossiers, generate_series(1, 2) s;
ANALYZE;
SQL
schema_mb=$(psql -Atq "$URL" -c "SELECT round(sum(pg_total_relation_size(c.oid)) / 1e6, 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$S' AND c.relkind = 'r'")

log "dvc tenant export"
t0=$(date +%s%N)
DVC__DATABASE__URL=$URL $DVC tenant export bench-tinh-1 "$WORK/archive" >"$WORK/export.txt"
t1=$(date +%s%N)
export_ms=$(( (t1 - t0) / 1000000 ))
archive_mb=$(du -sb "$WORK/archive" | awk '{printf "%.1f", $1 / 1e6}')
sum=$(sed -n 's/manifest sha256 //p' "$WORK/export.txt")

log "pg_dump of the same schema (plain SQL, COPY)"
t0=$(date +%s%N)
pg_dump -n "$S" -f "$WORK/schema.sql" "$URL"
t1=$(date +%s%N)
dump_ms=$(( (t1 - t0) / 1000000 ))
dump_mb=$(du -sb "$WORK/schema.sql" | awk '{printf "%.1f", $1 / 1e6}')

log "dvc tenant import into a second deployment"
t0=$(date +%s%N)
DVC__DATABASE__URL=$URL2 $DVC tenant import "$WORK/archive" --checksum "$sum" >/dev/null
t1=$(date +%s%N)
import_ms=$(( (t1 - t0) / 1000000 ))
imported=$(psql -Atq "$URL2" -c "SELECT count(*) FROM $S.dossiers")
[ "$imported" = "$DOSSIERS" ] || { echo "import restored $imported dossiers" >&2; exit 1; }

log "psql restore of the pg_dump into a third database"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS ${DB2}_pg WITH (FORCE)" -c "CREATE DATABASE ${DB2}_pg"
t0=$(date +%s%N)
psql -q -v ON_ERROR_STOP=1 "postgres://postgres:postgres@127.0.0.1:$PG_PORT/${DB2}_pg" -f "$WORK/schema.sql" >/dev/null
t1=$(date +%s%N)
restore_ms=$(( (t1 - t0) / 1000000 ))

rate() { awk -v mb="$1" -v ms="$2" 'BEGIN { printf "%.1f", mb / (ms / 1000) }'; }
export_rate=$(rate "$archive_mb" "$export_ms"); dump_rate=$(rate "$dump_mb" "$dump_ms")
import_rate=$(rate "$archive_mb" "$import_ms"); restore_rate=$(rate "$dump_mb" "$restore_ms")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# The same data moves in each pair, so time is the fair comparison; MB/s are each tool's own.
export_vs=$(ratio "$dump_ms" "$export_ms"); import_vs=$(ratio "$restore_ms" "$import_ms")

[ -n "${KEEP:-}" ] || for d in $DB $DB2 ${DB2}_pg; do psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)"; done

cat > "$OUT" <<MD
Run on $(date -u +%Y-%m-%d), $(nproc) cores; RUNS=$RUNS, DOSSIERS=$DOSSIERS (+ $((DOSSIERS * 2)) events; schema $schema_mb MB on disk).

| measurement | figure |
|---|---|
| onboarding one province (\`dvc tenant create\`, $procs inherited procedures), median of $RUNS | **$onboard_median ms** (worst $onboard_max ms) |
| the same, whole command (process start, configuration, connections, exit), median | $wall_median ms |
| \`dvc tenant export\`: $archive_mb MB archive | $export_ms ms, $export_rate MB/s |
| \`pg_dump -n\` of the same schema: $dump_mb MB | $dump_ms ms, $dump_rate MB/s |
| export speed against pg_dump (same data, time ratio) | **$export_vs** |
| \`dvc tenant import\` (signature and checksums verified, one transaction) | $import_ms ms, $import_rate MB/s |
| \`psql -f\` restore of the dump | $restore_ms ms, $restore_rate MB/s |
| import speed against the restore (same data, time ratio) | **$import_vs** |
MD
cat "$OUT"
