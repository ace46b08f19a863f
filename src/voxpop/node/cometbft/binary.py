"""The cometbft binary: where it is and whether it is the version we speak (v0.38.x, ABCI 2.0)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

COMETBFT_VERSION = "0.38.25"
SUPPORTED_VERSION_PREFIX = "0.38."
COMETBFT_ENV = "VOXPOP_COMETBFT"


class CometBFTError(RuntimeError):
    """CometBFT is missing, the wrong version, or failed a command."""


def find_cometbft() -> Path:
    """Locate the cometbft binary: $VOXPOP_COMETBFT, then PATH, then $GOBIN, $GOPATH/bin, ~/go/bin.

    Raises CometBFTError if none exists.
    """
    explicit = os.environ.get(COMETBFT_ENV)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise CometBFTError(f"${COMETBFT_ENV}={explicit} is not an executable file")
        return Path(explicit)
    on_path = shutil.which("cometbft")
    if on_path:
        return Path(on_path)
    candidates = []
    if os.environ.get("GOBIN"):
        candidates.append(Path(os.environ["GOBIN"]) / "cometbft")
    if os.environ.get("GOPATH"):
        candidates.extend(Path(p) / "bin" / "cometbft" for p in os.environ["GOPATH"].split(":"))
    candidates.append(Path.home() / "go" / "bin" / "cometbft")
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise CometBFTError(
        f"cometbft not found (looked at ${COMETBFT_ENV}, PATH, {', '.join(map(str, candidates))}); "
        "run scripts/install_cometbft.sh"
    )


def cometbft_version(binary: Path) -> str:
    """What `cometbft version` prints. Raises CometBFTError if it fails."""
    done = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise CometBFTError(f"{binary} version: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def check_cometbft_version(binary: Path) -> str:
    """Raise CometBFTError unless `binary` is a v0.38.x CometBFT (ABCI 2.0 as we speak it)."""
    version = cometbft_version(binary)
    if not version.startswith(SUPPORTED_VERSION_PREFIX):
        raise CometBFTError(
            f"{binary} is CometBFT {version}; voxpop needs {SUPPORTED_VERSION_PREFIX}x "
            f"(pinned {COMETBFT_VERSION}: run scripts/install_cometbft.sh)"
        )
    return version
