#!/usr/bin/env bash
# The Bitcoin node the swap tests run against: btcd (regtest), built once into the Go path and reused.
# No wallet daemon: the tests hold their own keys and sign in Python (python-bitcoinlib).
# Idempotent: a binary already at the pinned version is kept.
set -euo pipefail

BTCD_VERSION=v0.26.2
GOBIN_DIR="$(go env GOBIN)"
if [ -z "$GOBIN_DIR" ]; then
    GOBIN_DIR="$(go env GOPATH)/bin"
fi

if "$GOBIN_DIR/btcd" --version 2>/dev/null | grep -q "version ${BTCD_VERSION#v}"; then
    echo "btcd ${BTCD_VERSION} already installed"
else
    echo "install_btcd.sh: building btcd ${BTCD_VERSION} (under a minute, once)" >&2
    go install "github.com/btcsuite/btcd@${BTCD_VERSION}"
    "$GOBIN_DIR/btcd" --version | grep -q "version ${BTCD_VERSION#v}" \
        || { echo "install_btcd.sh: FAILED: $GOBIN_DIR/btcd does not report ${BTCD_VERSION}" >&2; exit 1; }
fi
