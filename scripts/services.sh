#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and an SMTP server answer on localhost, installing them from
# Debian's packages and starting them when they do not. Sourced by scripts/run and scripts/test.
set -euo pipefail

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
SMTP_PORT=${SMTP_PORT:-1025}
DVC_STATE_DIR=${DVC_STATE_DIR:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.dev"}
MAILDIR=${MAILDIR:-"$DVC_STATE_DIR/maildir"}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port what
  for _ in $(seq 1 100); do answers "$1" && return 0; sleep 0.1; done
  echo "$2 did not start on port $1" >&2; return 1
}

APT_UPDATED=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_build_deps() {
  # diesel links libpq.
  apt_install libpq-dev pkg-config
}

ensure_postgres() {
  if answers "$PG_PORT"; then return 0; fi
  apt_install postgresql postgresql-client
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  log "starting PostgreSQL $ver on port $PG_PORT"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
    || as_root pg_ctlcluster "$ver" main start
  wait_for "$PG_PORT" PostgreSQL
  # Local development password for the local superuser (matches config defaults).
  as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}

ensure_redis() {
  if answers "$REDIS_PORT"; then return 0; fi
  apt_install redis-server
  log "starting Redis on port $REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --logfile "$DVC_STATE_DIR/redis.log" --dir "$DVC_STATE_DIR"
  wait_for "$REDIS_PORT" Redis
}

ensure_smtp() {
  mkdir -p "$MAILDIR"/{tmp,new,cur}
  apt_install python3-aiosmtpd
  if answers "$SMTP_PORT"; then return 0; fi
  log "starting SMTP server (aiosmtpd) on port $SMTP_PORT, mail in $MAILDIR"
  nohup /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
    -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$DVC_STATE_DIR/smtp.log" 2>&1 &
  wait_for "$SMTP_PORT" SMTP
}

# Independent implementations the tests check dvc against: aiosmtpd (also started by the tests
# themselves), dkimpy for DKIM signatures, PyJWT for tokens verified through the JWKS alone,
# poppler (pdfsig, pdftotext, pdftoppm) for PDFs and their signatures, zbar for QR codes,
# openpyxl to write the Excel workbooks a catalog import reads.
ensure_test_tools() {
  apt_install python3-aiosmtpd python3-dkim python3-jwt python3-cryptography openssl \
    python3-yaml python3-jsonschema python3-openpyxl pgbouncer poppler-utils zbar-tools
}

ensure_services() {
  mkdir -p "$DVC_STATE_DIR"
  ensure_build_deps
  ensure_postgres
  ensure_redis
  ensure_smtp
}

# schemathesis (PyPI) in its own virtualenv, kept in the user's cache across checkouts, for
# scripts/schemathesis.sh, which fuzzes the running API against its OpenAPI document and checks
# the document itself with openapi-spec-validator. schemathesis wants Python 3.12 or later (on
# 3.11 its generator trips over CPython's "AST constructor recursion depth mismatch"): the
# newest python3.1x found, pyenv's included, else python3.
SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
OPENAPI_SPEC_VALIDATOR_VERSION=${OPENAPI_SPEC_VALIDATOR_VERSION:-0.9.0}
SCHEMATHESIS_VENV=${SCHEMATHESIS_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/dvc/schemathesis-$SCHEMATHESIS_VERSION"}
schemathesis_python() {
  local py v root
  for py in python3.14 python3.13 python3.12; do
    if command -v "$py" >/dev/null && "$py" -c '' 2>/dev/null; then command -v "$py"; return; fi
  done
  if command -v pyenv >/dev/null && root=$(pyenv root 2>/dev/null); then
    v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.[0-9]+)?$' | sort -V | tail -n1)
    if [ -n "$v" ] && [ -x "$root/versions/$v/bin/python3" ]; then
      echo "$root/versions/$v/bin/python3"; return
    fi
  fi
  command -v python3
}
ensure_schemathesis() {
  local py installed
  py=$(schemathesis_python)
  installed=$("$SCHEMATHESIS_VENV/bin/python" -c '
import sys
from importlib.metadata import version
print(sys.version.split()[0], version("schemathesis"), version("openapi-spec-validator"))
' 2>/dev/null || true)
  if [ "$installed" = "$("$py" -c 'import sys; print(sys.version.split()[0])') $SCHEMATHESIS_VERSION $OPENAPI_SPEC_VALIDATOR_VERSION" ]; then
    return 0
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION for $("$py" --version 2>&1)"
  rm -rf "$SCHEMATHESIS_VENV"
  mkdir -p "$(dirname "$SCHEMATHESIS_VENV")"
  if ! "$py" -m venv "$SCHEMATHESIS_VENV" 2>/dev/null; then
    apt_install python3-venv
    rm -rf "$SCHEMATHESIS_VENV"
    /usr/bin/python3 -m venv "$SCHEMATHESIS_VENV"
  fi
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
}
