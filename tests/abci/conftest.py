"""Fixtures for the ABCI adapter and CometBFT node tests.

Tests that start real CometBFT processes are marked `cometbft` and `slow`, and skip (with the
reason) only when the binary is absent. Every process a test starts is stopped at teardown.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

try:
    import voxpop.abci.proto  # noqa: F401
except ImportError:
    # The generated types are a build product (make proto); build them if a bare pytest runs first.
    subprocess.run(["bash", str(ROOT / "scripts" / "gen_proto.sh")], check=False)

from tests.abci.comet_testing import Processes, Rpc  # noqa: E402
from voxpop.node.cometbft.binary import (  # noqa: E402
    CometBFTError,
    check_cometbft_version,
    find_cometbft,
)


@pytest.fixture(scope="session")
def cometbft_binary() -> Path:
    try:
        binary = find_cometbft()
    except CometBFTError as exc:
        pytest.skip(f"cometbft binary absent: {exc}")
    check_cometbft_version(binary)
    return binary


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def rpc_to() -> Iterator[Callable[[str], Rpc]]:
    """Make RPC clients (closed at teardown, even when the test fails)."""
    clients: list[Rpc] = []

    def make(url: str) -> Rpc:
        clients.append(Rpc(url))
        return clients[-1]

    try:
        yield make
    finally:
        for client in clients:
            client.close()
