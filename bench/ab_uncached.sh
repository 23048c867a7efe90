#!/usr/bin/env bash
# Two dvc binaries serving the same uncached catalog read, alternating, so a machine's drift
# falls on both (see docs/BENCHMARKS.md). Needs the `dvc_bench` database of bench/run.sh.
#   bench/ab_uncached.sh OLD_DVC NEW_DVC [ROUNDS]
#   e.g. git worktree add /tmp/old <rev> && (cd /tmp/old && cargo build --release --bin dvc)
#        bench/ab_uncached.sh /tmp/old/target/release/dvc target/release/dvc 3
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
OLD=$1 NEW=$2 ROUNDS=${3:-3}
export DVC__SERVER__METRICS_PORT=0 DVC__AUTH__MASTER_KEY=${DVC__AUTH__MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
export DVC__DATABASE__URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/dvc_bench
export DVC__REDIS__PREFIX=dvc_bench DVC__LOG__FILTER=warn DVC__SERVER__PORT=18080 DVC_CONFIG_DIR=/nonexistent
export DVC__CATALOG__CACHE=false
url=http://127.0.0.1:18080
for round in $(seq "$ROUNDS"); do
  for which in old new; do
    bin=$NEW; [ $which = old ] && bin=$OLD
    $bin serve >target/bench-ab-serve.log 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -sf $url/readyz >/dev/null && break; sleep 0.2; done
    TENANTS=1000 wrk -t2 -c64 -d5s -s bench/round_robin.lua $url >/dev/null
    rps=$(TENANTS=1000 wrk -t2 -c64 -d10s -s bench/round_robin.lua $url | awk '/^Requests\/sec/ {print $2}')
    echo "round $round $which: $rps req/s (uncached, round-robin over 1000 tenants)"
    kill $pid
    wait $pid 2>/dev/null || true
  done
done
