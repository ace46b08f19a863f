#!/usr/bin/env bash
# Install the Debian packages the tests use: espeak-ng and sox make the speech the stt tests
# transcribe. Idempotent: does nothing when they are already on PATH. Needs root (or sudo) only
# when something is missing; otherwise says what to install and fails.
set -euo pipefail

PACKAGES=(espeak-ng sox)
missing=()
for cmd in "${PACKAGES[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install_system_deps.sh: FAILED: missing ${missing[*]}; install them: apt-get install ${missing[*]}" >&2
    exit 1
fi
command -v apt-get >/dev/null 2>&1 || {
    echo "install_system_deps.sh: FAILED: missing ${missing[*]} and no apt-get; install them with your package manager" >&2
    exit 1
}
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
