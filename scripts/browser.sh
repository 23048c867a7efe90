# Makes sure the browser end-to-end tests can run: Debian's Chromium, Node.js with npm, and the
# packages of tests/e2e (playwright-core, axe-core) installed from its package-lock.json.
# Source it after scripts/services.sh (it uses log and apt_install), then call ensure_browser.
# Never downloads a browser build of its own: playwright-core drives /usr/bin/chromium.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e"

ensure_browser() {
  # Chromium: $CHROMIUM when it names a program, else Debian's package. Its font package is only
  # recommended (apt_install skips those): DejaVu has the Vietnamese letters screenshots show.
  if [ -z "${CHROMIUM:-}" ] || [ ! -x "$CHROMIUM" ]; then
    [ -x /usr/bin/chromium ] || apt_install chromium fonts-dejavu-core
  fi

  # Node.js and npm: only when missing, since a Node.js from elsewhere (the machine's has npm
  # inside its own nodejs package) conflicts with Debian's npm package.
  command -v node >/dev/null || apt_install nodejs
  command -v npm >/dev/null || apt_install npm
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    log "warning: node $(node --version) is older than playwright-core needs (>= 20)"
  fi

  # npm ci when node_modules is missing or older than the lock file. npm writes its hidden
  # lock file (node_modules/.package-lock.json) last, so it marks a finished install.
  local marker="$E2E_DIR/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$E2E_DIR/package-lock.json" -nt "$marker" ]; then
    log "installing browser test packages (npm ci in tests/e2e)"
    npm ci --no-audit --no-fund --loglevel=error --prefix "$E2E_DIR" >/dev/null
  fi
}
