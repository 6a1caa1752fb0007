#!/usr/bin/env bash
# Install with the test tools and run the whole test suite (real model, real Chroma, real servers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test..."
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }
  else
    echo "the browser test needs /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
