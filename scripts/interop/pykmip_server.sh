#!/usr/bin/env bash
# Starts a PyKMIP 0.11.0 server on 127.0.0.1:$PORT with mutual TLS 1.2 and an ECDSA P-256 chain (PyKMIP's TLS
# 1.2 suite offers only CBC suites with RSA certificates, which rustls does not implement), for
# kms/tests/pykmip_server.rs. Prints the server's PID on the last line; the caller stops it by that PID.
# Env: DIR (fresh directory), PORT, PYKMIP_SERVER (the pykmip-server script of the virtualenv).
set -euo pipefail
: "${DIR:?}" "${PORT:?}" "${PYKMIP_SERVER:?}"
mkdir -p "$DIR/certs" "$DIR/policies"
cd "$DIR/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 \
  -subj "/CN=Test KMIP CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for who in server client; do
  if [ "$who" = server ]; then cn=127.0.0.1; eku=serverAuth; san='subjectAltName=IP:127.0.0.1,DNS:localhost'
  else cn=kms-client; eku=clientAuth; san=''; fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
    -subj "/CN=$cn" 2>/dev/null
  printf "extendedKeyUsage=%s\nkeyUsage=critical,digitalSignature\n%s\n" "$eku" "$san" > $who.ext
  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $who.crt -days 2 \
    -extfile $who.ext 2>/dev/null
done
cd "$DIR"
cat > server.conf <<CONF
[server]
hostname=127.0.0.1
port=$PORT
certificate_path=$DIR/certs/server.crt
key_path=$DIR/certs/server.key
ca_path=$DIR/certs/ca.crt
auth_suite=TLS1.2
policy_path=$DIR/policies
enable_tls_client_auth=True
logging_level=INFO
database_path=$DIR/pykmip.db
CONF
PYTHONWARNINGS=ignore "$PYKMIP_SERVER" -f "$DIR/server.conf" -l "$DIR/server.log" > server.stdout 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q "Starting connection service" server.log 2>/dev/null && break
  sleep 0.1
done
echo "$pid"
