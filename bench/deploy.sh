#!/usr/bin/env bash
# Deployment figures (see docs/BENCHMARKS.md), in one run: binary and image size; start-up time to ready
# with 1,000 tenants registered; uncached tenant reads through PgBouncer (transaction mode)
# against direct connections.
#   bench/deploy.sh              # TENANTS=1000 DUR=10 CONNS=64
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
# `dvc serve` refuses to start without a master key (a throwaway one for the bench).
export DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk
[ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer

TENANTS=${TENANTS:-1000}
DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench_deploy
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
PORT=18087
BPORT=16432
OUT=${OUT:-target/bench-deploy-results.md}
export DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__SERVER__PORT=$PORT DVC__CATALOG__CACHE=false

log "building release binaries"
cargo build --release --quiet --bin dvc --example tenancy
DVC=target/release/dvc
size_mib=$(du -m "$DVC" | cut -f1)
stripped=$(mktemp); strip -o "$stripped" "$DVC"; stripped_mib=$(du -m "$stripped" | cut -f1); rm -f "$stripped"

# The image's contents, assembled by the same script as the Dockerfile's last build step: its
# unpacked size (what `docker images` shows) and its gzip-compressed layer (what a node pulls).
rootfs=$(mktemp -d)
scripts/image-rootfs.sh "$DVC" "$rootfs/root"
image_mb=$(tar -C "$rootfs/root" -c . | wc -c | awk '{printf "%.1f", $1 / 1e6}')
layer_mb=$(tar -C "$rootfs/root" -c . | gzip -6 | wc -c | awk '{printf "%.1f", $1 / 1e6}')
image_files=$(find "$rootfs/root" -type f | wc -l)
rm -rf "$rootfs"

log "creating $DB with $TENANTS tenants"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
DVC__DATABASE__URL=$URL $DVC migrate >/dev/null
target/release/examples/tenancy setup "$URL" "$TENANTS" 20 >/dev/null

log "start-up to ready, five times"
startups=()
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  DVC__DATABASE__URL=$URL $DVC serve >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do sleep 0.01; done
  t1=$(date +%s%N)
  tenants_seen=$(curl -s "http://127.0.0.1:$PORT/readyz" | sed 's/.*"tenants":\([0-9]*\).*/\1/')
  startups+=($(( (t1 - t0) / 1000000 )))
  kill $pid; wait $pid 2>/dev/null || true
done
startup_median=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 3p)

log "PgBouncer $(/usr/sbin/pgbouncer --version | head -1) in transaction mode on $BPORT"
bdir=$(mktemp -d); chmod 777 "$bdir"
printf '"postgres" "postgres"\n' >"$bdir/userlist.txt"
cat >"$bdir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $bdir/userlist.txt
pool_mode = transaction
default_pool_size = 16
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits,options
logfile = $bdir/pgbouncer.log
pidfile = $bdir/pgbouncer.pid
INI
chmod -R a+rwX "$bdir"
if [ "$(id -u)" = 0 ]; then /usr/sbin/pgbouncer -d -u postgres "$bdir/pgbouncer.ini"; else /usr/sbin/pgbouncer -d "$bdir/pgbouncer.ini"; fi
trap 'kill $(cat "$bdir/pgbouncer.pid" 2>/dev/null) 2>/dev/null || true' EXIT
wait_for $BPORT PgBouncer

rps() { # db-url statement-cache -> "rps p99"
  DVC__DATABASE__URL=$1 DVC__DATABASE__STATEMENT_CACHE=$2 $DVC serve >/dev/null 2>&1 &
  local pid=$!
  wait_for $PORT dvc
  TENANTS=$TENANTS wrk -t2 -c"$CONNS" -d3s -s bench/round_robin.lua "http://127.0.0.1:$PORT" >/dev/null
  TENANTS=$TENANTS wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/round_robin.lua "http://127.0.0.1:$PORT" \
    | awk '/^ +99%/ {p99=$2} /^Requests\/sec/ {rps=$2} END {print rps, p99}'
  kill $pid; wait $pid 2>/dev/null || true
}
log "uncached reads over $TENANTS tenants: direct, direct without statement cache, through PgBouncer"
read -r direct_rps direct_p99 < <(rps "$URL" true)
read -r nocache_rps nocache_p99 < <(rps "$URL" false)
read -r bouncer_rps bouncer_p99 < <(rps "postgres://postgres:postgres@127.0.0.1:$BPORT/$DB" false)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "| measurement | figure |"
  echo "|---|---|"
  echo "| release binary | $size_mib MiB ($stripped_mib MiB stripped, as in the image) |"
  echo "| image contents (scripts/image-rootfs.sh, $image_files files) | $image_mb MB unpacked, $layer_mb MB gzip-compressed |"
  echo "| start-up to ready with $TENANTS tenants registered (median of 5; readyz saw $tenants_seen) | $startup_median ms (all: ${startups[*]}) |"
  echo "| uncached reads, direct (statement cache on) | $direct_rps req/s (p99 $direct_p99) |"
  echo "| uncached reads, direct, statement cache off | $nocache_rps req/s (p99 $nocache_p99) |"
  echo "| uncached reads through PgBouncer (transaction mode, cache off) | $bouncer_rps req/s (p99 $bouncer_p99): $(ratio "$bouncer_rps" "$direct_rps") of direct |"
} | tee "$OUT"
