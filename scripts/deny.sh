#!/usr/bin/env bash
# The dependency policy of deny.toml, checked with cargo-deny (installed from crates.io into
# ~/.cargo/bin on first use): bans, licenses and sources always; advisories against the RustSec
# advisory database, which cargo-deny clones from GitHub.
#
# When that database can be neither fetched nor found on this machine (a CI box that reaches
# package registries only), the advisories check is NOT run, and the script says so in so many
# words rather than report a pass; set DVC_REQUIRE_ADVISORIES=1 to make that an error. A copy
# fetched earlier (in $CARGO_HOME/advisory-dbs) is used, with its date shown, when the fetch fails.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=${CARGO_DENY_VERSION:-0.20.2}
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! cargo deny --version 2>/dev/null | grep -qxF "cargo-deny $CARGO_DENY_VERSION"; then
  log "installing cargo-deny $CARGO_DENY_VERSION (crates.io)"
  cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
fi

log "cargo deny: bans, licenses, sources"
cargo deny --color never check --hide-inclusion-graph bans licenses sources

log "cargo deny: advisories"
dbs=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
# The check itself runs --offline (the database was fetched just before, or cannot be): every
# crate of the graph, other platforms' included, must be in the local registry for that.
cargo fetch --locked --quiet
if cargo deny --color never fetch db >"${TMPDIR:-/tmp}/dvc-deny-fetch.log" 2>&1; then
  cargo deny --color never --offline check --hide-inclusion-graph advisories
  exit 0
fi
db=$(find "$dbs" -mindepth 1 -maxdepth 1 -type d -name 'advisory-db-*' \
  -exec test -d '{}/crates' ';' -print 2>/dev/null | head -n1)
if [ -n "$db" ]; then
  updated=$(git -C "$db" log -1 --format=%cs 2>/dev/null || echo "an unknown date")
  log "the advisory database could not be updated; checking against the copy of $updated in $db"
  cargo deny --color never --offline check --hide-inclusion-graph advisories
  exit 0
fi
tail -n 3 "${TMPDIR:-/tmp}/dvc-deny-fetch.log" >&2
cat >&2 <<'EOF'
================================================================================
cargo deny: advisories NOT CHECKED. The RustSec advisory database could not be
fetched (see the error above: it is cloned from GitHub) and there is no local
copy in $CARGO_HOME/advisory-dbs. Only bans, licenses and sources were checked.
Run `scripts/deny.sh` where GitHub is reachable to check advisories.
================================================================================
EOF
if [ "${DVC_REQUIRE_ADVISORIES:-0}" = 1 ]; then
  exit 1
fi
