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

# Both servers listen on loopback, where every local account (the test workspaces' too) can connect:
# they ask for a password, generated once and kept where only this account can read it.
secret() {
  mkdir -p "$STATE_DIR" && chmod 711 "$STATE_DIR"
  if [ ! -s "$STATE_DIR/password" ]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE_DIR/password")
  fi
  cat "$STATE_DIR/password"
}

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
  # Image builds (builds/): buildah, daemonless, runs each build in a user namespace with runc.
  command -v buildah >/dev/null || missing+=(buildah)
  # tests/kube/realnode: a real Kubernetes node (the kubelet is built by scripts/kube-node.sh; the runtime is
  # Debian's, run with its own root and socket: the system service is not used).
  command -v containerd >/dev/null || missing+=(containerd)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  # tests/observability: a real Prometheus (with promtool) scrapes the portal and the hub.
  command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
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
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    [ -s "$data/PG_VERSION" ] && secure_postgres "$bin" "$data"
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"; return
  fi
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
  secure_postgres "$bin" "$data"
  log "PostgreSQL started on 127.0.0.1:$PG_PORT ($data)"
}

# Idempotent (clusters made before passwords are upgraded in place): TCP needs the password; the socket,
# in a folder only postgres (and root) can enter, stays trusted for this script.
secure_postgres() {
  local bin=$1 data=$2
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n' \
    | as_pg_owner tee "$data/pg_hba.conf" >/dev/null
  echo "ALTER USER postgres PASSWORD '$(secret)'" | as_pg_owner "$bin/psql" -q -h "$data" -p "$PG_PORT" -U postgres -d postgres >/dev/null
  as_pg_owner "$bin/pg_ctl" -D "$data" reload >/dev/null
}

redis_ping() { REDISCLI_AUTH="$(secret)" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start_redis() {
  if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
    # One started before passwords: ask for one from now on (the config file has it for the next start).
    printf %s "$(secret)" | redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -x config set requirepass >/dev/null
  fi
  if redis_ping; then log "Redis already running on 127.0.0.1:$REDIS_PORT"; return; fi
  mkdir -p "$STATE_DIR/redis" && chmod 700 "$STATE_DIR/redis"
  (umask 077; cat > "$STATE_DIR/redis/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
requirepass $(secret)
daemonize yes
save ""
appendonly no
dir $STATE_DIR/redis
pidfile $STATE_DIR/redis/redis.pid
logfile $STATE_DIR/redis/redis.log
CONF
  )
  redis-server "$STATE_DIR/redis/redis.conf" >&2
  for _ in $(seq 50); do redis_ping && break; sleep 0.1; done
  log "Redis started on 127.0.0.1:$REDIS_PORT"
}

case "${1:-start}" in
  start)
    install_missing
    start_postgres
    start_redis
    echo "export DATABASE_URL=postgres://postgres:$(secret)@127.0.0.1:$PG_PORT/platform"
    echo "export REDIS_URL=redis://:$(secret)@127.0.0.1:$REDIS_PORT/0"
    ;;
  stop)
    if [ -d "$STATE_DIR/pg" ]; then as_pg_owner "$(pg_bin)/pg_ctl" -D "$STATE_DIR/pg" -m fast stop >&2 || true; fi
    REDISCLI_AUTH="$(secret)" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    log "stopped"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
