#!/usr/bin/env bash
# Install the Debian packages the tests use: espeak-ng and sox make the speech the stt tests
# transcribe; chromium and chromium-driver are the browser the home and explorer tests drive
# (nothing downloads a browser at run time); postgresql is the server the explorer's index tests
# start in a temp dir. Idempotent: does nothing when they are already installed. Needs root (or
# sudo) only when something is missing; otherwise says what to install and fails.
set -euo pipefail

# package:command that proves it is installed (postgresql's binaries are not on PATH)
PACKAGES=(espeak-ng:espeak-ng sox:sox chromium:chromium chromium-driver:chromedriver
          "postgresql:/usr/lib/postgresql/*/bin/initdb")
missing=()
for entry in "${PACKAGES[@]}"; do
    pkg=${entry%%:*}
    cmd=${entry#*:}
    if [[ $cmd == /* ]]; then
        compgen -G "$cmd" >/dev/null || missing+=("$pkg")
    else
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
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
