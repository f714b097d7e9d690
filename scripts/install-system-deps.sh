#!/usr/bin/env bash
# System packages suede's build and tests need (Debian/Ubuntu). Idempotent; uses sudo when not root.
set -euo pipefail
# rsync: tests compare trees with it; python3/make/g++: zstd-napi compiles at npm ci;
# libfuse2 + fuse3: suede mount (fuse-native links libfuse.so.2, fuse3 supplies fusermount);
# chromium: the web UI's browser tests (driven by playwright-core, never a downloaded browser).
packages=(rsync python3 make g++ libfuse2 fuse3 chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
