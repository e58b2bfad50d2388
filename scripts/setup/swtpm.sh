# swtpm, the TPM 2.0 simulator the kms-tpm tests and `kms serve --backend tpm` tests run against (libtpms; no
# manufacturing step, so it has no EK certificate and kms-tpm creates the EK from the standard template).
# One `swtpm socket` on a free loopback port with a fresh state directory; tests that restart a TPM or need a second
# one start their own from the same `swtpm` binary. The connection string uses the `swtpm:` TCTI: `mssim:` fails
# against swtpm (platform commands), and tss-esapi 7.x ignores `swtpm:path=`.
APT_PACKAGES+=(libtss2-dev swtpm swtpm-tools tpm2-tools pkg-config)

# A free loopback port whose successor is free too: the swtpm TCTI always talks to the control channel on port+1.
swtpm_free_port_pair() {
  local port
  for _ in $(seq 20); do
    port=$(free_port)
    if python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' $((port + 1)) \
      2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

setup_swtpm() {
  local port state
  port=$(swtpm_free_port_pair)
  state="$RUN_DIR/swtpm"
  mkdir -p "$state"
  log "starting swtpm on 127.0.0.1:$port (state in $state)"
  swtpm socket --tpm2 --tpmstate dir="$state" \
    --server type=tcp,port="$port",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --log file="$RUN_DIR/swtpm.log",level=1 &
  PIDS+=($!)
  local i
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export KMS_TEST_TPM_TCTI="swtpm:host=127.0.0.1,port=$port"
      return 0
    fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "scripts/setup/swtpm.sh: swtpm did not accept connections on port $port (see $RUN_DIR/swtpm.log)" >&2
  return 1
}
SETUPS+=(setup_swtpm)
