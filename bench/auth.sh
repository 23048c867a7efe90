#!/usr/bin/env bash
# Auth benchmarks (see docs/BENCHMARKS.md): an authenticated tenant-scoped read against the
# same read without authentication, and sign-ins against raw argon2id verifications.
#   bench/auth.sh            # DUR=10 CONNS=64
set -euo pipefail
# Metrics on a free port of their own, so instances side by side never collide.
export DVC__SERVER__METRICS_PORT=${DVC__SERVER__METRICS_PORT:-0}
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
command -v wrk >/dev/null || apt_install wrk

DUR=${DUR:-10}
CONNS=${CONNS:-64}
DB=dvc_bench_auth
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
OUT=${OUT:-target/bench-auth-results.md}
export DVC__DATABASE__URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
export DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
export DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export DVC__AUTH__PER_IP_PER_MINUTE=1000000

log "building release binaries"
cargo build --release --quiet --bin dvc --example auth --example tenancy
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
target/release/dvc migrate >/dev/null
target/release/examples/tenancy setup "$DVC__DATABASE__URL" 1 20 >/dev/null
target/release/dvc keys rotate >/dev/null
target/release/examples/auth seed-login
TOKEN=$(target/release/examples/auth token)

rps() { awk '/^Requests\/sec/ {print $2}'; }

log "authenticated read vs the same read without authentication"
target/release/examples/auth serve 18095 >/dev/null 2>&1 &
SERVER=$!
wait_for 18095 "bench server"
wrk -t2 -c"$CONNS" -d3s http://127.0.0.1:18095/open/t/bench-0001/read >/dev/null
open_rps=$(wrk -t2 -c"$CONNS" -d"${DUR}s" http://127.0.0.1:18095/open/t/bench-0001/read | rps)
auth_rps=$(wrk -t2 -c"$CONNS" -d"${DUR}s" -H "Authorization: Bearer $TOKEN" \
  http://127.0.0.1:18095/auth/t/bench-0001/read | rps)
kill $SERVER; wait $SERVER 2>/dev/null || true

log "sign-ins vs raw argon2id"
argon_rate=$(target/release/examples/auth argon2 200)
DVC__SERVER__PORT=18096 target/release/dvc serve >/dev/null 2>&1 &
SERVER=$!
wait_for 18096 dvc
login_out=$(wrk -t2 -c8 -d"${DUR}s" -s bench/login.lua http://127.0.0.1:18096/oauth/authorize)
kill $SERVER; wait $SERVER 2>/dev/null || true
login_rps=$(echo "$login_out" | rps)
non302=$(echo "$login_out" | awk '/^non-302/ {print $2}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "- authenticated read (ES256 verification + Redis revocation check + the same one-transaction read): $auth_rps req/s vs $open_rps req/s without authentication: ratio $(ratio "$auth_rps" "$open_rps")"
  echo "- sign-ins through the authorization form: $login_rps logins/s (non-302 answers: $non302) vs raw argon2id verifications with the same parameters on all cores: $argon_rate/s: ratio $(ratio "$login_rps" "$argon_rate")"
} | tee "$OUT"
