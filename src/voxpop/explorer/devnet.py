"""The devnet's explorer: `voxpop devnet up` runs one, a child process with its home (and its
SQLite index) under `DEVNET/explorer`, on DEVNET_EXPLORER_PORT; a devnet run again resumes its
index where it stopped."""

from __future__ import annotations

from pathlib import Path

from voxpop.explorer.testing import LocalExplorer

DEVNET_EXPLORER_PORT = 7900


def start_devnet_explorer(
    devnet_root: Path, node_url: str, port: int = DEVNET_EXPLORER_PORT
) -> LocalExplorer:
    """Run the devnet's explorer. Raises LocalProcessError, OSError."""
    return LocalExplorer.start(devnet_root / "explorer", node_url=node_url, port=port, timeout=60.0)
