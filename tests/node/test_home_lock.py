"""One node per home: a second node started on a running node's home refuses with one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from voxpop.client.testing import LocalNode, free_port, voxpop_command
from voxpop.store import MerkleStore, StoreLockedError


def test_store_has_one_writer(tmp_path: Path) -> None:
    with (
        MerkleStore(tmp_path / "s"),
        pytest.raises(StoreLockedError, match="in use by another process"),
    ):
        MerkleStore(tmp_path / "s")
    MerkleStore(tmp_path / "s").close()  # closing released it


@pytest.mark.slow
def test_second_node_on_one_home_refuses(tmp_path: Path) -> None:
    home = tmp_path / "node"
    with LocalNode.start(home) as node:
        # The same home, another API port: only the store is shared
        argv = voxpop_command("node", "start", "--solo", "--home", str(home))
        env = {"VOXPOP_API_PORT": str(free_port()), "COLUMNS": "200"}
        done = subprocess.run(
            argv, capture_output=True, timeout=60, check=False, env={**_env(), **env}
        )
        assert done.returncode != 0
        err = done.stderr.decode()
        assert "in use by another process" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert node.process.poll() is None  # the first node runs on


def _env() -> dict[str, str]:
    return dict(os.environ)
