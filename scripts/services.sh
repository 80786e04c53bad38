#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the integration and end-to-end tests talk to are up,
# starting this machine's own servers where they are down. Never fails by itself: the tests
# decide (with CI=true a missing server fails the run; otherwise those tests are skipped).
set -u
PGHOST=${FITQ_TEST_PG_HOST:-127.0.0.1}
PGPORT=${FITQ_TEST_PG_PORT:-5432}
REDIS_PORT=${FITQ_TEST_REDIS_PORT:-6379}

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

pg_up() { pg_isready -h "$PGHOST" -p "$PGPORT" -q; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG; }

if command -v pg_isready >/dev/null && ! pg_up; then
  echo "services: starting PostgreSQL"
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  wait_for 30 pg_up || echo "services: PostgreSQL is not reachable on $PGHOST:$PGPORT"
fi

if command -v redis-cli >/dev/null && ! redis_up; then
  echo "services: starting Redis"
  command -v redis-server >/dev/null &&
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  wait_for 15 redis_up || echo "services: Redis is not reachable on 127.0.0.1:$REDIS_PORT"
fi
exit 0
