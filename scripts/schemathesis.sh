#!/usr/bin/env bash
# Checks that the API answers what its OpenAPI document says: schemathesis (PyPI) fuzzes a real
# dvc — its own database with the demo tenants, PostgreSQL and Redis from scripts/services.sh,
# a private SMTP server — over /api/openapi.json, through the `ha-noi` portal's host, four
# times: with no token; with a citizen's token; with the same citizen's token for the account
# API; with a tenant official's (officer, leader and admin, signed in with TOTP). The accounts
# sign up and in the way people and apps do (scripts/schemathesis-accounts.py). Checks:
# no 5xx, and every status, content type and body as documented; the document itself is first
# validated with openapi-spec-validator. Any finding fails the script.
#   scripts/schemathesis.sh                  # builds and uses target/debug/dvc
#   DVC_BIN=target/release/dvc scripts/schemathesis.sh
# Tuning: SCHEMATHESIS_MAX_EXAMPLES (per operation and phase, default 50), SCHEMATHESIS_SEED
# (fixed by default, so a run is repeatable), SCHEMATHESIS_TIMEOUT (seconds per run, default
# 300: past it the run is killed and fails).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
ensure_schemathesis

max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
seed=${SCHEMATHESIS_SEED:-20260118}
run_timeout=${SCHEMATHESIS_TIMEOUT:-300}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

bin=${DVC_BIN:-target/debug/dvc}
if [ -z "${DVC_BIN:-}" ]; then
  log "building dvc (debug)"
  cargo build --quiet --bin dvc
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
smtp_port=$(free_port)
work=$(mktemp -d "${TMPDIR:-/tmp}/dvc-schemathesis.XXXXXX")
server_pid=""
smtp_pid=""
cleanup() {
  local pid
  for pid in $server_pid $smtp_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

admin_url=postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres
db=dvc_schemathesis_$$
psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
psql "$admin_url" -qc "CREATE DATABASE \"$db\"" >/dev/null

# A private SMTP server: the confirmation mail is read from its Maildir.
mkdir -p "$work"/maildir/{tmp,new,cur} "$work/attachments"
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
  -c aiosmtpd.handlers.Mailbox "$work/maildir" >"$work/smtp.log" 2>&1 &
smtp_pid=$!
wait_for "$smtp_port" SMTP

export DVC__DATABASE__URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$db
export DVC__REDIS__URL=redis://127.0.0.1:$REDIS_PORT
export DVC__REDIS__PREFIX=dvc-schemathesis-$$
export DVC__SMTP__PORT=$smtp_port
export DVC__SERVER__PORT=$port
export DVC__SERVER__HOST=127.0.0.1
export DVC__SERVER__WORKERS=2
# Metrics have a listener of their own: a free port, so as not to meet a local dvc's.
DVC__SERVER__METRICS_PORT=$(free_port)
export DVC__SERVER__METRICS_PORT
export DVC__SERVER__PUBLIC_ORIGIN="http://{host}:$port"
export DVC__AUTH__ISSUER=http://localhost:$port
# The tokens are minted before the first run (whose fuzzing soon hits the sign-up and sign-in
# rate limits): they must outlive all four.
export DVC__AUTH__ACCESS_TOKEN_TTL_SECS=3600
DVC__AUTH__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
DVC__SYNC__SECRET=$(head -c 32 /dev/urandom | base64)
export DVC__AUTH__MASTER_KEY DVC__SYNC__SECRET
export DVC__SYNC__RECEIVER_BASE=http://127.0.0.1:$port
export DVC__DOSSIERS__STORAGE_ROOT=$work/attachments
export DVC__PAYMENTS__SANDBOX=true
export DVC__MAIL__WORKER_IN_PROCESS=true
export DVC__MAIL__POLL_INTERVAL_SECS=1
export DVC__LOG__FILTER=${DVC__LOG__FILTER:-warn}

log "setting up a dvc with the demo tenants (database $db)"
$bin setup --tenants tenants/ --sandbox-merchant ha-noi=HNI001 >"$work/setup.log" 2>&1 \
  || { cat "$work/setup.log" >&2; exit 1; }
# Two outside apps: one for the ha-noi tenant's API, one for the account API (which takes no
# tenant's token).
redirect_uri=http://127.0.0.1:$port/schemathesis/callback
tenant_client=schemathesis-ha-noi
account_client=schemathesis-account
$bin client add "$tenant_client" --name "Schemathesis (ha-noi)" --tenant ha-noi \
  --redirect-uri "$redirect_uri" >/dev/null
$bin client add "$account_client" --name "Schemathesis (account)" --account-api \
  --redirect-uri "$redirect_uri" >/dev/null

$bin serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  answers "$port" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
answers "$port" || { echo "dvc did not start" >&2; cat "$work/server.log" >&2; exit 1; }
base=http://127.0.0.1:$port

log "signing a citizen and an official up and in"
tokens=$("$SCHEMATHESIS_VENV/bin/python" scripts/schemathesis-accounts.py "$base" "$work/maildir" \
  "$redirect_uri" "$tenant_client" "$account_client" "$bin" ha-noi)
citizen_token=$(sed -n 1p <<<"$tokens")
account_token=$(sed -n 2p <<<"$tokens")
official_token=$(sed -n 3p <<<"$tokens")
if [ -z "$citizen_token" ] || [ -z "$account_token" ] || [ -z "$official_token" ]; then
  echo "no access tokens" >&2
  exit 1
fi

log "validating /api/openapi.json (openapi-spec-validator)"
"$SCHEMATHESIS_VENV/bin/python" -c '
import json, sys, urllib.request
from openapi_spec_validator import validate
validate(json.load(urllib.request.urlopen(sys.argv[1])))
' "$base/api/openapi.json"

runs=0
failed=0
run() { # name, extra schemathesis arguments…
  local name=$1
  shift
  log "schemathesis: $name (at most $max_examples examples per operation, ${run_timeout}s)"
  local started=$SECONDS
  # From the scratch directory: schemathesis keeps a cache of failures in `.schemathesis/`.
  (cd "$work" && timeout --kill-after=10 "$run_timeout" "$SCHEMATHESIS_VENV/bin/schemathesis" run \
    "$base/api/openapi.json" --url "$base" \
    -H "Host: ha-noi.localhost:$port" \
    --checks "$checks" \
    --max-examples "$max_examples" --seed "$seed" \
    --workers 2 --request-timeout 20 --no-color --generation-database none \
    "$@") || { echo "schemathesis ($name) failed or timed out" >&2; failed=$((failed + 1)); }
  runs=$((runs + 1))
  log "schemathesis: $name took $((SECONDS - started))s"
}
run anonymous
run citizen -H "Authorization: Bearer $citizen_token"
# The account API takes only the platform's own apps' tokens.
run citizen-account -H "Authorization: Bearer $account_token" \
  --include-path-regex '^/api/v1/(auth|account)/'
# An officer, leader and admin of the tenant. Not `DELETE /members`: the stateful phase
# follows the member list to it and takes the official's own roles away, ending the run's
# reach. Nor a domain's verification, which would look made-up names up in the DNS. (Both are
# fuzzed above, where they answer 401 and 403.)
run official -H "Authorization: Bearer $official_token" \
  --exclude-operation-id revoke --exclude-operation-id verify_domain
if [ "$failed" -ne 0 ]; then
  echo "--- server log: errors ---" >&2
  grep -E "ERROR|panicked" "$work/server.log" | grep -v "request parse error" | tail -n 50 >&2 || true
fi
echo "schemathesis: $((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
