#!/usr/bin/env bash
# Installs the project's npm dependencies (npm ci) when they are missing or older than
# package-lock.json; otherwise does nothing. `npm test` (pretest) and scripts/up.sh run it, so a
# fresh clone works with the README's two commands and nothing else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

installed=node_modules/.package-lock.json # written by npm at every install
if [ -f "$installed" ] && [ ! package-lock.json -nt "$installed" ]; then
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "deps.sh: npm is not installed: install Node 20 (with npm) first" >&2; exit 1; }
echo "deps.sh: installing dependencies (npm ci)" >&2
npm ci --no-audit --no-fund >&2
