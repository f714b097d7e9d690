#!/usr/bin/env bash
# Installs everything suede needs on a fresh Debian/Ubuntu machine with Node.js 20+, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm test
