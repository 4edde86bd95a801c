#!/usr/bin/env bash
# Run the whole suite against real services (started here if they are not running).
# Extra arguments go to pytest, e.g. `make test ARGS="-k tokens -n0"`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  eval "$(bash scripts/services.sh start)"
fi
# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# live server fixtures make there are safe (they are not concurrent).
export DJANGO_ALLOW_ASYNC_UNSAFE=true
# Keep the suite's data out of the developer's ./var.
export PLATFORM_DATA_DIR="${PLATFORM_TEST_DATA_DIR:-$(mktemp -d)}"
chmod 755 "$PLATFORM_DATA_DIR"
# As root, test workspaces run as per-user OS accounts (dsw-alice, …). Accounts are machine-wide
# and remember their home, so their homes stay in one place across runs; every account must
# be able to reach it.
export PLATFORM_HOMES_DIR="${PLATFORM_HOMES_DIR:-${TMPDIR:-/tmp}/dsw-test-homes}"
mkdir -p "$PLATFORM_HOMES_DIR" && chmod 755 "$PLATFORM_HOMES_DIR"

exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
