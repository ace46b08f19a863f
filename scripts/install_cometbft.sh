#!/usr/bin/env bash
# Install the pinned CometBFT binary and fetch the Go modules whose .proto files we compile.
#
# Idempotent: skips `go install` when the binary already reports the pinned version.
# Exits non-zero, naming the command that failed and its exit code, if anything goes wrong.
set -euo pipefail

COMETBFT_VERSION="0.38.25"
GOGOPROTO_VERSION="1.7.0"

fail() {
    echo "install_cometbft.sh: FAILED: $*" >&2
    exit 1
}

run() {
    # Run a command; on failure report it verbatim with its exit code (its stderr is already shown).
    local rc=0
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "'$*' exited with code $rc"
    fi
}

command -v go >/dev/null 2>&1 || fail "'go' is not on PATH; install Go 1.22+ (https://go.dev/dl/)"

gobin="$(go env GOBIN)"
if [ -z "$gobin" ]; then
    gobin="$(go env GOPATH)/bin"
fi
bin="$gobin/cometbft"

installed=""
if [ -x "$bin" ]; then
    installed="$("$bin" version 2>/dev/null || true)"
fi

if [ "$installed" = "$COMETBFT_VERSION" ]; then
    echo "cometbft $COMETBFT_VERSION already installed"
else
    if [ -n "$installed" ]; then
        echo "cometbft at $bin reports '$installed'; installing $COMETBFT_VERSION"
    else
        echo "installing cometbft $COMETBFT_VERSION"
    fi
    run go install "github.com/cometbft/cometbft/cmd/cometbft@v$COMETBFT_VERSION"
    installed="$("$bin" version 2>&1)" || fail "'$bin version' failed after install: $installed"
    [ "$installed" = "$COMETBFT_VERSION" ] \
        || fail "'$bin version' reports '$installed', expected '$COMETBFT_VERSION'"
fi

# The .proto sources (scripts/gen_proto.sh): CometBFT's own and gogoproto, which they import.
# `go install` above already put the CometBFT module in the cache; download both explicitly so this
# also holds when the binary was installed some other way.
run go mod download "github.com/cometbft/cometbft@v$COMETBFT_VERSION"
run go mod download "github.com/cosmos/gogoproto@v$GOGOPROTO_VERSION"

modcache="$(go env GOMODCACHE)"
echo "cometbft binary: $bin"
echo "cometbft protos: $modcache/github.com/cometbft/cometbft@v$COMETBFT_VERSION/proto"
echo "gogoproto:       $modcache/github.com/cosmos/gogoproto@v$GOGOPROTO_VERSION"
onpath="$(command -v cometbft 2>/dev/null || true)"
if [ -n "$onpath" ] && [ "$onpath" != "$bin" ]; then
    echo "warning: 'cometbft' on PATH is $onpath ($("$onpath" version 2>&1 || true)), not $bin"
fi
case ":$PATH:" in
    *":$gobin:"*) ;;
    *) echo "note: $gobin is not on PATH; voxpop also finds the binary there or via \$VOXPOP_COMETBFT" ;;
esac
