#!/usr/bin/env bash
# Installs the headless browser the UI tests drive (tests/app/test_browser.py):
# Debian's Chromium, used by Playwright through executable_path="/usr/bin/chromium".
# Playwright's own browser download needs a CDN this CI cannot reach; Debian's mirror is reachable.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
