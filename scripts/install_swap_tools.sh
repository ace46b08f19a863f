#!/usr/bin/env bash
# The dev chains the swap tests run against, built once into the Go path and reused:
# geth (Ethereum, --dev mode). The Bitcoin node is installed by scripts/install_btcd.sh when present.
# Idempotent: a binary already at the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

GETH_VERSION=v1.17.10
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"

# Read the version into a variable first: `geth version | grep -q` under pipefail fails when grep
# exits early and geth gets SIGPIPE
installed="$(geth version 2>/dev/null || true)"
if [[ "$installed" != *"Version: ${GETH_VERSION#v}"* ]]; then
    echo "install_swap_tools.sh: building geth ${GETH_VERSION} (a few minutes, once)" >&2
    go install "github.com/ethereum/go-ethereum/cmd/geth@${GETH_VERSION}"
fi

if [ -f scripts/install_btcd.sh ]; then
    bash scripts/install_btcd.sh
fi

# The pinned Solidity compiler (npm `solc`, soljson: no native download) that builds the swap's
# Ethereum HTLC (tools/solc/compile.py; a test checks the committed artifact against it)
if [ ! -x tools/solc/node_modules/.bin/solcjs ]; then
    (cd tools/solc && npm ci --no-audit --no-fund)
fi
