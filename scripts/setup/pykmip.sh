# PyKMIP 0.11.0, the KMIP peer of the interop tests (the tests start its server themselves), in a virtualenv under
# the target dir, kept between runs. openssl makes the PyKMIP server's certificates.
APT_PACKAGES+=(openssl)

setup_pykmip() {
  local venv="$TARGET_DIR/pykmip-venv"
  if ! "$venv/bin/python" -c 'import kmip' 2>/dev/null; then
    log "installing PyKMIP 0.11.0 into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check pykmip==0.11.0
  fi
  export KMS_TEST_PYKMIP_PYTHON="$venv/bin/python"
}
SETUPS+=(setup_pykmip)
