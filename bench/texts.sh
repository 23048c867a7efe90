#!/usr/bin/env bash
# Text worker throughput against a local brandname gateway, as a ratio to a bare HTTP client
# sending the same requests (see docs/BENCHMARKS.md; target ≥ 0.8).
#   bench/texts.sh            # MESSAGES=2000 ROUNDS=5 LATENCIES="0 20"
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services

MESSAGES=${MESSAGES:-2000}
ROUNDS=${ROUNDS:-5}
# The gateway's answer time: 0 shows the worker's own cost, 20 ms is a fast real gateway.
LATENCIES=${LATENCIES:-0 20}
DB=dvc_bench_texts
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB

log "building release binaries"
cargo build --release --quiet --bin dvc --example texts
export DVC__DATABASE__URL=$URL DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
target/release/dvc migrate >/dev/null
target/release/dvc tenant apply tenants/ >/dev/null
for latency in $LATENCIES; do
  target/release/examples/texts "$URL" "$MESSAGES" "$ROUNDS" "$latency"
done
