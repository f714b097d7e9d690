#!/usr/bin/env bash
# Installs suede on a fresh Debian/Ubuntu machine with Node.js 20+ and makes a first real backup of a
# directory (default: this project's docs), then lists the snapshots. The vault is ./first.vault.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir="${1:-$PWD/docs}"
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run build
[ -e first.vault ] || node dist/cli/main.js init first.vault
node dist/cli/main.js backup first.vault "$source_dir"
node dist/cli/main.js snapshots first.vault
