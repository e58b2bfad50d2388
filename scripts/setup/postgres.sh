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
#   KMS_TEST_POSTGRES_CA     the CA certificate (PEM) of the server's TLS certificate: the throwaway cluster
#                            accepts TLS too (certificate for 127.0.0.1 made here with openssl); with
#                            KMS_TEST_POSTGRES_URL, set it to that server's CA
if [ -z "${KMS_TEST_POSTGRES_URL:-}" ] || ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  APT_PACKAGES+=(postgresql openssl)
fi

# A CA and a server certificate for 127.0.0.1 in $1 (P-256, two days).
postgres_tls_files() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=kms-test-postgres-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
  chmod 600 "$dir/server.key" "$dir/ca.key"
}

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
  postgres_tls_files "$POSTGRES_DIR/tls"
  if [ -n "${KMS_TEST_POSTGRES_RUNAS:-}" ]; then
    chown -R "$KMS_TEST_POSTGRES_RUNAS" "$POSTGRES_DIR/tls"
  fi
  port=$(free_port)
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}'): throwaway cluster on 127.0.0.1:$port"
  postgres_as "$bin/initdb" -D "$POSTGRES_DIR/data" -U kms -A trust -E UTF8 --no-sync >"$POSTGRES_DIR/initdb.log" 2>&1 \
    || { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
  postgres_as "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $POSTGRES_DIR -c max_connections=300 -c ssl=on -c ssl_cert_file=$POSTGRES_DIR/tls/server.pem -c ssl_key_file=$POSTGRES_DIR/tls/server.key" start >/dev/null \
    || { cat "$POSTGRES_DIR/server.log" >&2; return 1; }
  export KMS_TEST_POSTGRES_URL="postgres://kms@127.0.0.1:$port/postgres"
  export KMS_TEST_POSTGRES_CA="$POSTGRES_DIR/tls/ca.pem"
}
SETUPS+=(setup_postgres)

stop_postgres() {
  if [ -n "$POSTGRES_DIR" ] && [ -f "$POSTGRES_DIR/data/postmaster.pid" ]; then
    postgres_as "$KMS_TEST_POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
STOPS+=(stop_postgres)
