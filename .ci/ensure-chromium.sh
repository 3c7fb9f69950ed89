#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: tests/render/test_html.py opens the HTML report in it.
# Idempotent and quiet when chromium is already there; exits non-zero (with the reason) when it cannot install.
set -euo pipefail

for exe in chromium chromium-browser google-chrome; do
  if command -v "$exe" >/dev/null 2>&1; then
    exit 0
  fi
done

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n "$0" "$@"
  fi
  echo "ensure-chromium: chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get here; install chromium with this system's package manager" >&2
  exit 1
fi

echo "ensure-chromium: installing Debian's chromium for the HTML report test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q chromium >/dev/null
command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null | grep -v "unexpected operator" || true
