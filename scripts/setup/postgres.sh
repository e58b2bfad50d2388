# PostgreSQL for the PostgresStore tests (kms-core/tests/postgres*.rs, kms/tests/postgres_*.rs).
#
# With KMS_TEST_POSTGRES_URL set (a role that may create schemas and databases), the tests use that server.
# Otherwise a throwaway cluster is made under RUN_DIR, on a free loopback port, trust authentication, superuser
# `kms`, and stopped on exit; as root, initdb and pg_ctl run as the `postgres` user, as pg_virtualenv does.
#
# Exported for the tests:
#   KMS_TEST_POSTGRES_URL    the server the tests share (each test works in its own schema or database)
#   KMS_TEST_POSTGRES_BIN    the directory of initdb and pg_ctl, for tests that restart a database: they start a
#                            private cluster of their own, so that a restart never disturbs the other tests
#   KMS_TEST_POSTGRES_RUNAS  the user to run initdb, postgres and pg_ctl as (set when running as root)
if [ -z "${KMS_TEST_POSTGRES_URL:-}" ] || ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  APT_PACKAGES+=(postgresql)
fi

# The newest installed server's binaries (Debian installs them outside PATH).
postgres_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a server command as the user the cluster belongs to.
postgres_as() {
  if [ -n "${KMS_TEST_POSTGRES_RUNAS:-}" ]; then
    runuser -u "$KMS_TEST_POSTGRES_RUNAS" -- "$@"
  else
    "$@"
  fi
}

POSTGRES_DIR=
setup_postgres() {
  local bin port
  bin=$(postgres_bindir)
  if [ "$(id -u)" = 0 ]; then
    export KMS_TEST_POSTGRES_RUNAS=postgres
  fi
  if [ -n "$bin" ]; then
    export KMS_TEST_POSTGRES_BIN="$bin"
  fi
  if [ -n "${KMS_TEST_POSTGRES_URL:-}" ]; then
    log "PostgreSQL: using KMS_TEST_POSTGRES_URL"
    return 0
  fi
  if [ -z "$bin" ]; then
    echo "scripts/setup/postgres.sh: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2
    return 1
  fi
  POSTGRES_DIR="$RUN_DIR/postgres"
  mkdir -p "$POSTGRES_DIR"
  if [ -n "${KMS_TEST_POSTGRES_RUNAS:-}" ]; then
    # The server user must reach its directory inside the root-owned run dir (traverse only, no listing).
    chmod o+x "$RUN_DIR"
    chown "$KMS_TEST_POSTGRES_RUNAS" "$POSTGRES_DIR"
  fi
  port=$(free_port)
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}'): throwaway cluster on 127.0.0.1:$port"
  postgres_as "$bin/initdb" -D "$POSTGRES_DIR/data" -U kms -A trust -E UTF8 --no-sync >"$POSTGRES_DIR/initdb.log" 2>&1 \
    || { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
  postgres_as "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $POSTGRES_DIR -c max_connections=300" start >/dev/null \
    || { cat "$POSTGRES_DIR/server.log" >&2; return 1; }
  export KMS_TEST_POSTGRES_URL="postgres://kms@127.0.0.1:$port/postgres"
}
SETUPS+=(setup_postgres)

stop_postgres() {
  if [ -n "$POSTGRES_DIR" ] && [ -f "$POSTGRES_DIR/data/postmaster.pid" ]; then
    postgres_as "$KMS_TEST_POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
STOPS+=(stop_postgres)
