#!/usr/bin/env bash
# Installs (when missing) what the integration tests need and touches nothing else: the PostgreSQL server binaries
# (initdb, pg_ctl, postgres) and psql. The tests start their own throwaway cluster under _build/pgtest on a free
# loopback port (internal/pgtest) unless FAPILOG_TEST_POSTGRES_URL names a server; the machine's own PostgreSQL
# clusters and their configuration are never read, started or changed (installing Debian's postgresql package may
# create and start its default cluster, as the package always does; the tests do not use it).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

has_server_binaries() {
  local dir
  for dir in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      return 0
    fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if [ -n "${FAPILOG_TEST_POSTGRES_URL:-}" ]; then
  echo "services: tests use the PostgreSQL server in FAPILOG_TEST_POSTGRES_URL"
elif ! has_server_binaries || ! command -v psql >/dev/null 2>&1; then
  echo "services: installing the PostgreSQL server binaries and psql (Debian packages postgresql, postgresql-client)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
fi
echo "services: ready"
