#!/usr/bin/env bash
# Start (or stop) the services the test suite needs: PostgreSQL and Redis on
# loopback, in a private directory that leaves any system instance alone.
#   scripts/services.sh start   installs what is missing (as root), starts what is not running,
#                               and prints `export ...` lines for DATABASE_URL and REDIS_URL
#   scripts/services.sh stop    stops what `start` started
set -euo pipefail

STATE_DIR="${PLATFORM_SERVICES_DIR:-${TMPDIR:-/tmp}/dsw-test-services}"
PG_PORT="${PLATFORM_TEST_PG_PORT:-55432}"
REDIS_PORT="${PLATFORM_TEST_REDIS_PORT:-56379}"
log() { echo "services: $*" >&2; }

as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_missing() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v chromium >/dev/null || missing+=(chromium)
  # The image catalog's tests: a real OCI registry (distribution 2.8) and a client that pushes to it.
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v skopeo >/dev/null || missing+=(skopeo)
  # Image environments on one machine: podman with the runc runtime (Debian's default crun cannot run
  # inside every container host); spawner/containers.py uses them when both work.
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing ${missing[*]}: install them (sudo apt-get install ${missing[*]}) or run as root"; exit 1
  fi
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

start_postgres() {
  local bin data="$STATE_DIR/pg"
  bin="$(pg_bin)"
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then log "PostgreSQL already running on 127.0.0.1:$PG_PORT"; return; fi
  mkdir -p "$STATE_DIR"
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    as_pg_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  # A throwaway test cluster: durability settings off for speed.
  as_pg_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2
  log "PostgreSQL started on 127.0.0.1:$PG_PORT ($data)"
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then log "Redis already running on 127.0.0.1:$REDIS_PORT"; return; fi
  mkdir -p "$STATE_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
    --dir "$STATE_DIR/redis" --pidfile "$STATE_DIR/redis/redis.pid" --logfile "$STATE_DIR/redis/redis.log" >&2
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  log "Redis started on 127.0.0.1:$REDIS_PORT"
}

case "${1:-start}" in
  start)
    install_missing
    start_postgres
    start_redis
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/platform"
    echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  stop)
    if [ -d "$STATE_DIR/pg" ]; then as_pg_owner "$(pg_bin)/pg_ctl" -D "$STATE_DIR/pg" -m fast stop >&2 || true; fi
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    log "stopped"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
