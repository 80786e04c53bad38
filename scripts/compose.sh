#!/usr/bin/env bash
# tests/unit/test_compose.py runs `docker compose config` on docker-compose.yml. Where neither
# Docker's compose plugin nor docker-compose is here, install Debian's docker-compose (1.29,
# which checks a file against the compose specification's schema as the plugin does), without
# the Docker daemon it recommends. Never fails by itself: the test decides (with CI=true a
# missing compose fails it; otherwise it skips).
set -u
if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo -n"
if command -v apt-get >/dev/null; then
  echo "compose: installing Debian's docker-compose for tests/unit/test_compose.py"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    docker-compose >/dev/null || echo "compose: could not install docker-compose"
else
  echo "compose: no apt-get here; install Docker's compose plugin or docker-compose"
fi
exit 0
