# SoftHSM2, the PKCS#11 token of the kms-hsm tests (and opensc for pkcs11-tool, to look at the token by hand).
# A throwaway token directory under RUN_DIR with its own SOFTHSM2_CONF, so that runs never see each other's keys;
# tokens are found by label (SoftHSM2 renumbers slots after initialisation).
APT_PACKAGES+=(softhsm2 opensc)

setup_softhsm() {
  local dir="$RUN_DIR/softhsm" module
  for module in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
    [ -f "$module" ] && break
  done
  if [ ! -f "$module" ]; then
    echo "scripts/setup/softhsm.sh: libsofthsm2.so not found (is softhsm2 installed?)" >&2
    return 1
  fi
  mkdir -p "$dir/tokens"
  cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
  export SOFTHSM2_CONF="$dir/softhsm2.conf"
  export KMS_TEST_PKCS11_MODULE="$module"
  export KMS_TEST_PKCS11_TOKEN=kms-test
  export KMS_TEST_PKCS11_PIN=87654321
  export KMS_TEST_PKCS11_SO_PIN=12345678
  # A second token for the tests that present a wrong PIN, so that a PIN retry counter never locks the main one.
  export KMS_TEST_PKCS11_TOKEN_WRONG_PIN=kms-test-wrong-pin
  # A third for the reconciliation test, which treats every unrecorded key on its token as an orphan: tests running
  # at the same time on the main token would lose theirs.
  export KMS_TEST_PKCS11_TOKEN_ISOLATED=kms-test-isolated
  local label
  for label in "$KMS_TEST_PKCS11_TOKEN" "$KMS_TEST_PKCS11_TOKEN_WRONG_PIN" "$KMS_TEST_PKCS11_TOKEN_ISOLATED"; do
    softhsm2-util --init-token --free --label "$label" \
      --so-pin "$KMS_TEST_PKCS11_SO_PIN" --pin "$KMS_TEST_PKCS11_PIN" >/dev/null
  done
  log "SoftHSM2 tokens $KMS_TEST_PKCS11_TOKEN, $KMS_TEST_PKCS11_TOKEN_WRONG_PIN, $KMS_TEST_PKCS11_TOKEN_ISOLATED in $dir ($module)"
}
SETUPS+=(setup_softhsm)
