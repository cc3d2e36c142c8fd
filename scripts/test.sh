#!/usr/bin/env bash
# The whole suite from a fresh clone: Python deps, Debian packages, local
# services, then pytest with coverage. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    export APT_UPDATED=1
  else
    echo "test: missing ${need_apt[*]} (run as root to install)" >&2
  fi
fi

make --no-print-directory install
# axe-core for the browser tests' accessibility audit
if [ ! -f tests/web/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then
  (cd tests/web && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent)
fi
bash scripts/services.sh

export HUB_VAR_DIR="${HUB_VAR_DIR:-$(mktemp -d)}"
exec .venv/bin/pytest --cov --cov-report=term "$@"
