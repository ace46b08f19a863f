"""Durability: a writer killed (SIGKILL) at random moments reopens at exactly its last
committed version, with state, aux rows and tree all agreeing."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store.reference import reference_root
from tests.store.storage_check import check_storage
from voxpop.store import MerkleStore

# Commits random versions forever, printing "version root" after each returns.
WRITER = """
import random, sys
from voxpop.store import MerkleStore

with MerkleStore(sys.argv[1], keep_versions=3, aux_dbs=["blocks"]) as store:
    while True:
        version = store.version + 1
        rng = random.Random(version)
        changes = {
            b"k%d" % rng.randrange(3000): None if rng.random() < 0.2 else rng.randbytes(20)
            for _ in range(rng.randrange(1, 400))
        }
        block = [("blocks", version.to_bytes(8, "big"), b"block %d" % version)]
        root = store.commit(version, changes, aux=block)
        # One write per line (print writes its pieces one by one when stdout is unbuffered, and
        # a kill between them would leave half a line)
        sys.stdout.write("%d %s\\n" % (version, root.hex()))
        sys.stdout.flush()
"""


def run_writer_until_killed(path: Path, seconds: float) -> list[tuple[int, str]]:
    """Start a writer, SIGKILL it after `seconds`; the (version, root) pairs it reported."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    # Not before its first commit: on a loaded machine its imports alone can outlast `seconds`
    assert child.stdout is not None
    first = child.stdout.readline()
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate()
    output = first + rest
    assert child.returncode == -signal.SIGKILL
    lines = [line.split() for line in output.split("\n") if line]
    assert all(len(fields) == 2 for fields in lines), f"not 'version root' lines: {output[-500:]!r}"
    return [(int(version), root) for version, root in lines]


@pytest.mark.slow
def test_killed_writer_reopens_at_last_commit(tmp_path: Path) -> None:
    rng = random.Random(2024)
    reported_any = 0
    for _ in range(6):
        reported = run_writer_until_killed(tmp_path, rng.uniform(0.4, 1.2))
        with MerkleStore(tmp_path, keep_versions=3, aux_dbs=["blocks"]) as store:
            version = store.version
            if reported:
                reported_any += 1
                last_version, last_root = reported[-1]
                # Verify every reported commit survived; at most one more finished unreported.
                assert last_version <= version <= last_version + 1
                if version == last_version:
                    assert store.root_hash().hex() == last_root
            # Verify state, tree and aux rows are one consistent version.
            assert store.root_hash() == reference_root(dict(store.iterate()))
            assert store.get_aux("blocks", version.to_bytes(8, "big")) == b"block %d" % version
            assert store.get_aux("blocks", (version + 1).to_bytes(8, "big")) is None
            store.wait_for_pruning()
            check_storage(store)
    assert reported_any >= 4
