#!/usr/bin/env bash
# Make sure Postgres and Redis answer on 127.0.0.1 for the tests: start the local
# ones if they are installed but stopped, install them first (Debian, as root)
# if they are missing. Idempotent; does nothing when both already answer.
set -euo pipefail

PGPASS=postgres
pg_ok() { PGPASSWORD=$PGPASS psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; }
redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
as_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  if ! as_root; then echo "services: need root to install $*" >&2; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! pg_ok; then
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "services: installing postgresql"
    apt_install postgresql postgresql-client
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  echo "services: starting postgresql $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start || true
  for _ in $(seq 1 30); do
    su postgres -c "psql -tAc 'select 1'" >/dev/null 2>&1 && break; sleep 1
  done
  # a fresh cluster: give postgres the password the tests use
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD '$PGPASS'\"" >/dev/null
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  pg_ok || { echo "services: postgres did not come up" >&2; exit 1; }
fi
echo "services: postgres ok"

if ! redis_ok; then
  if ! command -v redis-server >/dev/null; then
    echo "services: installing redis-server"
    apt_install redis-server
  fi
  mkdir -p /tmp/hub-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/hub-redis --logfile /tmp/hub-redis/redis.log
  for _ in $(seq 1 30); do redis_ok && break; sleep 0.5; done
  redis_ok || { echo "services: redis did not come up" >&2; exit 1; }
fi
echo "services: redis ok"
