#!/usr/bin/env bash
# Portal benchmarks (see docs/BENCHMARKS.md), side by side in one run: the tenant home page
# and a procedure page against GET /api/v1/procedures of the same tenant (target: pages at
# least half the API's throughput), and each page's weight with everything it loads.
#   bench/portal.sh              # DUR=10 CONNS=64
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk

DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench_portal
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=18089
HOST=ha-noi.localhost
OUT=${OUT:-target/bench-portal-results.md}
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64) DVC__SERVER__PORT=$PORT
export DVC__MAIL__WORKER_IN_PROCESS=false DVC__CATALOG__CACHE=true

log "building the release binary"
cargo build --release --quiet --bin dvc
DVC=target/release/dvc

log "creating $DB with the demo tenants"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
$DVC setup --tenants=tenants >/dev/null
$DVC serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_for $PORT dvc

run() { # path accept -> "rps p99"
  local path=$1 accept=$2
  wrk -t2 -c"$CONNS" -d3s -H "Host: $HOST" -H "Accept: $accept" "http://127.0.0.1:$PORT$path" >/dev/null
  wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "Host: $HOST" -H "Accept: $accept" "http://127.0.0.1:$PORT$path" |
    awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} END {print rps, p99}'
}
log "GET /api/v1/procedures, the home page, a procedure page ($CONNS connections, ${DUR}s each)"
read -r api_rps api_p99 < <(run /api/v1/procedures application/json)
read -r home_rps home_p99 < <(run / text/html)
read -r proc_rps proc_p99 < <(run /thu-tuc/1.000105 text/html)

# A page's weight: its HTML and every resource it links (stylesheets; no scripts, fonts or
# images are linked). Anything from another origin would be a render-blocking third party.
weight() {
  local path=$1 total html assets=0 foreign
  html=$(curl -s -H "Host: $HOST" "http://127.0.0.1:$PORT$path")
  total=$(printf '%s' "$html" | wc -c)
  for href in $(printf '%s' "$html" | grep -o '<link[^>]*href="[^"]*"' | sed 's/.*href="\([^"]*\)"/\1/'); do
    assets=$((assets + $(curl -s -H "Host: $HOST" "http://127.0.0.1:$PORT$href" | wc -c)))
  done
  foreign=$(printf '%s' "$html" | { grep -Eo '(src|href)="(https?:)?//[^"]*"' || true; } | wc -l)
  echo "$((total + assets)) $total $foreign"
}
read -r home_bytes home_html home_foreign < <(weight /)
read -r proc_bytes proc_html proc_foreign < <(weight /thu-tuc/1.000105)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
{
  echo "| measurement | figure |"
  echo "|---|---|"
  echo "| GET /api/v1/procedures (JSON, cached catalog) | $api_rps req/s (p99 $api_p99) |"
  echo "| home page (search, most-used from the statistics, fields) | $home_rps req/s (p99 $home_p99): **$(ratio "$home_rps" "$api_rps")** of the API |"
  echo "| procedure page | $proc_rps req/s (p99 $proc_p99): **$(ratio "$proc_rps" "$api_rps")** of the API |"
  echo "| home page weight (HTML + stylesheets, uncompressed) | $(kb "$home_bytes") KB (HTML $(kb "$home_html") KB); third-party resources: $home_foreign |"
  echo "| procedure page weight | $(kb "$proc_bytes") KB (HTML $(kb "$proc_html") KB); third-party resources: $proc_foreign |"
} | tee "$OUT"
