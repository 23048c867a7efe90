#!/usr/bin/env bash
# Catalog import (issue 20; see docs/BENCHMARKS.md): the national database's list of ROWS
# procedures planned and imported into fresh tenants, ROUNDS times, in process (examples/
# catalog_import), then end to end with the CLI (`dvc tenant import-catalog`, a process start
# included): dry run, then import.
#   bench/catalog_import.sh          # ROWS=300 ROUNDS=5
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
ROWS=${ROWS:-300}
ROUNDS=${ROUNDS:-5}
DB=dvc_bench_import
ADMIN=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
export DVC__DATABASE__URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$DB
export DVC__REDIS__PREFIX=$DB DVC__LOG__FILTER=warn DVC_CONFIG_DIR=/nonexistent
log "building release binaries"
cargo build --release --quiet --bin dvc --example catalog_import
BIN=${CARGO_TARGET_DIR:-target}/release
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN/dvc" migrate >/dev/null
CSV=$(mktemp --suffix=.csv)
"$BIN/examples/catalog_import" "$ROWS" "$ROUNDS" "$CSV"
printf 'slug = "nhap-cli"\ncode = "NHCLI"\nkind = "province"\nname = { vi = "Sở thử CLI" }\n' >target/nhap-cli.toml
"$BIN/dvc" tenant apply target/nhap-cli.toml >/dev/null
for step in "--dry-run" ""; do
  start=$(date +%s.%N)
  "$BIN/dvc" tenant import-catalog nhap-cli "$CSV" $step | tail -n1
  end=$(date +%s.%N)
  echo "dvc tenant import-catalog ${step:-(import)}: $(echo "$end - $start" | bc) s end to end"
done
rm -f "$CSV"
