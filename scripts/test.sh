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
# Private to this account, like `make run`'s (workspaces run as other accounts); removed at the end.
export PLATFORM_DATA_DIR="${PLATFORM_TEST_DATA_DIR:-$(mktemp -d -t dsw-test-data-XXXXXX)}"
chmod 700 "$PLATFORM_DATA_DIR"
[ -n "${PLATFORM_TEST_DATA_DIR:-}" ] || trap 'rm -rf "$PLATFORM_DATA_DIR"' EXIT

.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
