#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download does not work offline). Install it when it is missing; never fails by itself: the
# browser tests decide (with CI=true a missing browser fails them; otherwise they skip).
set -u
if command -v chromium >/dev/null || [ -n "${FITQ_TEST_CHROMIUM:-}" ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo -n"
if command -v apt-get >/dev/null; then
  echo "browser: installing Debian's chromium for the browser tests"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null ||
    echo "browser: could not install chromium (apt-get install -y chromium)"
else
  echo "browser: no apt-get here; install Chromium and set FITQ_TEST_CHROMIUM to its path"
fi
exit 0
