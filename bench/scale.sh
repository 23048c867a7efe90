#!/usr/bin/env bash
# Ten thousand tenants on one PostgreSQL (issue 22, part 1; see docs/BENCHMARKS.md). One
# database grows from SMALL to LARGE tenants (20 procedures each; 100 dossiers in each of the
# first 1,000), and the same figures are taken at both sizes in the same run:
#   - dvc serve start-up to /readyz, and the registry reload it repeats every minute;
#   - uncached catalog reads round-robin over every tenant (wrk), and pgbench running the same
#     SQL transaction over the same schemas;
#   - dvc's resident memory (cached catalogs, bounded by catalog.max_tenants) and PostgreSQL
#     backends' private memory after that traffic;
#   - dvc tenant export of bench-0001 (100 dossiers), which the other tenants must not slow;
#   - provisioning 20 new tenants (median);
# and at LARGE only: dvc migrate of one new migration over every tenant.
#   bench/scale.sh               # SMALL=1000 LARGE=10000 DUR=10 CONNS=64
set -euo pipefail
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-client

SMALL=${SMALL:-1000}
LARGE=${LARGE:-10000}
DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench_scale
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=18087
OUT=${OUT:-target/bench-scale-results.md}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log "building release binaries"
cargo build --release --quiet --bin dvc --example tenancy
DVC=target/release/dvc
TENANCY=target/release/examples/tenancy
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC__SERVER__PORT=$PORT
export DVC_CONFIG_DIR=/nonexistent DVC__DOSSIERS__STORAGE_ROOT=$WORK/storage
base="http://127.0.0.1:$PORT"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
backends_kb() {  # private memory of this database's client backends, summed
  local total=0 kb
  for p in $(psql -tA "$ADMIN" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'"); do
    kb=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s + 0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + kb))
  done
  echo "$total"
}
rr() {  # tenants → "rps p99" of uncached catalog reads round-robin
  TENANTS=$1 wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/round_robin.lua "$base" |
    awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} END {print rps, p99}'
}

fill_dossiers() {  # first last: 100 dossiers and their events in each of bench-first…last
  local i s
  for i in $(seq "$1" "$2"); do
    s=t_bench_$(printf '%04d' "$i")
    cat <<SQL
INSERT INTO $s.dossiers (id, code, procedure_code, applicant_id, applicant_name, applicant_email,
    lookup_hash, form_data, fee_vnd, status, submitted_at, received_at, due_date)
SELECT gen_random_uuid(), 'B$i-' || lpad(g::text, 6, '0'), '1.000000', gen_random_uuid(),
       'Nguyễn Văn ' || g, 'dan' || g || '@example.vn', sha256(('$i-' || g)::bytea),
       jsonb_build_object('ho_ten', 'Nguyễn Văn ' || g, 'ngay_sinh', '1990-01-01'),
       600000, 'received', now() - (g || ' minutes')::interval, now(), current_date + 5
  FROM generate_series(1, 100) g;
INSERT INTO $s.dossier_events (dossier_id, seq, actor_role, from_status, to_status, at)
SELECT id, n, 'officer', CASE n WHEN 1 THEN NULL ELSE 'submitted' END,
       CASE n WHEN 1 THEN 'submitted' ELSE 'received' END, submitted_at
  FROM $s.dossiers, generate_series(1, 2) n;
SQL
  done | psql -q -v ON_ERROR_STOP=1 "$URL"
}

measure() {  # label tenants: every figure at this size, into variables <label>_*
  local label=$1 n=$2 t0 server
  psql -q "$URL" -c "VACUUM ANALYZE" 2>/dev/null
  log "$label ($n tenants): registry reload, start-up"
  read -r _ _ _ reg_ms _ < <($TENANCY registry "$URL" | awk '{print $1, $2, $3, $(NF-1), $NF}')
  t0=$(date +%s%N)
  DVC__CATALOG__CACHE=false $DVC serve >"target/bench-scale-$label.log" 2>&1 &
  server=$!
  until curl -sf "$base/readyz" >/dev/null 2>&1; do sleep 0.01; done
  local start_ms; start_ms=$(ms_since "$t0")
  log "$label: uncached reads round-robin over $n tenants"
  TENANTS=$n wrk -t2 -c"$CONNS" -d5s -s bench/round_robin.lua "$base" >/dev/null
  local rps p99; read -r rps p99 < <(rr "$n")
  local pg_kb; pg_kb=$(backends_kb)
  kill $server; wait $server 2>/dev/null || true
  log "$label: cached reads, dvc memory"
  DVC__CATALOG__CACHE=true $DVC serve >>"target/bench-scale-$label.log" 2>&1 &
  server=$!
  wait_for $PORT dvc
  TENANTS=$n wrk -t2 -c"$CONNS" -d"${DUR}s" -s bench/round_robin.lua "$base" >/dev/null
  local rss; rss=$(rss_kb $server)
  kill $server; wait $server 2>/dev/null || true
  log "$label: pgbench, the same SQL over $n schemas"
  local tps; tps=$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DUR" -D tenants="$n" -f "$WORK/catalog.sql" "$URL" 2>/dev/null |
    awk '/^tps/ {print $3}')
  log "$label: export of bench-0001"
  rm -rf "$WORK/export-$label"
  t0=$(date +%s%N)
  $DVC tenant export bench-0001 "$WORK/export-$label" >/dev/null
  local export_ms; export_ms=$(ms_since "$t0")
  log "$label: provisioning 20 tenants"
  local prov; prov=$($TENANCY provision "$URL" 20 20 | sed 's/.*dvc median \([0-9.]*\) ms.*/\1/')
  eval "${label}_reg=$reg_ms ${label}_start=$start_ms ${label}_rps=$rps ${label}_p99=$p99"
  eval "${label}_pg=$pg_kb ${label}_rss=$rss ${label}_tps=$tps ${label}_export=$export_ms ${label}_prov=$prov"
}

log "creating $DB: $SMALL tenants"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
$DVC migrate >/dev/null
$DVC keys rotate >/dev/null
$TENANCY pgbench-script >"$WORK/catalog.sql"
$TENANCY setup "$URL" "$SMALL" 20 1 >&2
log "100 dossiers in each of the first $(( SMALL < 1000 ? SMALL : 1000 )) tenants"
fill_dossiers 1 $(( SMALL < 1000 ? SMALL : 1000 ))
measure small "$SMALL"

log "growing $DB to $LARGE tenants"
t0=$(date +%s%N)
$TENANCY setup "$URL" "$LARGE" 20 $((SMALL + 1)) >&2
grow_s=$(( $(ms_since "$t0") / 1000 ))
measure large "$LARGE"
log "dvc migrate: one new migration over every tenant"
migrate_line=$($TENANCY migrate "$URL" 4)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
{
  echo "| figure | $SMALL tenants | $LARGE tenants | $LARGE ÷ $SMALL |"
  echo "|---|---:|---:|---:|"
  echo "| registry reload (median of 9) | ${small_reg} ms | ${large_reg} ms | $(ratio "$large_reg" "$small_reg") |"
  echo "| \`dvc serve\` start to /readyz | ${small_start} ms | ${large_start} ms | |"
  echo "| uncached catalog reads, round-robin over all tenants | $small_rps req/s (p99 $small_p99) | $large_rps req/s (p99 $large_p99) | **$(ratio "$large_rps" "$small_rps")** |"
  echo "| pgbench, the same SQL over the same schemas | $small_tps tps | $large_tps tps | $(ratio "$large_tps" "$small_tps") |"
  echo "| dvc uncached ÷ pgbench | **$(ratio "$small_rps" "$small_tps")** | $(ratio "$large_rps" "$large_tps") | |"
  echo "| PostgreSQL backends' private memory after the uncached reads | $(mb "$small_pg") | $(mb "$large_pg") | |"
  echo "| dvc resident memory after cached reads over all tenants | $(mb "$small_rss") | $(mb "$large_rss") | |"
  echo "| \`dvc tenant export bench-0001\` (100 dossiers) | ${small_export} ms | ${large_export} ms | **$(ratio "$large_export" "$small_export")** |"
  echo "| provisioning a tenant with 20 procedures (median of 20) | ${small_prov} ms | ${large_prov} ms | |"
  echo
  echo "- growing from $SMALL to $LARGE tenants took ${grow_s} s"
  echo "- $migrate_line"
} | tee "$OUT"
