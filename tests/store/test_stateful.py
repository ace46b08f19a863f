"""A Hypothesis state machine driving the store through random commits, staged commits,
reopens and reads, checked after every step against a model: the committed dicts."""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.store.changes import apply_changes, change_sets, keys
from tests.store.reference import reference_root
from tests.store.storage_check import check_storage
from voxpop.store import MerkleStore, VersionError, verify_proof

KEEP = 3


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp()
        self.store = self._open()
        self.states: dict[int, dict[bytes, bytes]] = {}
        self.state: dict[bytes, bytes] = {}

    def _open(self) -> MerkleStore:
        return MerkleStore(self.directory, keep_versions=KEEP, aux_dbs=["blocks"])

    def _record(self, version: int, changes: dict[bytes, bytes | None]) -> None:
        apply_changes(self.state, changes)
        self.states[version] = dict(self.state)

    @rule(changes=change_sets, skip=st.integers(1, 3))
    def commit(self, changes: dict[bytes, bytes | None], skip: int) -> None:
        version = self.store.version + skip
        block = [("blocks", version.to_bytes(8, "big"), b"block")]
        root = self.store.commit(version, changes, aux=block)
        self._record(version, changes)
        assert root == reference_root(self.state)

    @rule(changes=change_sets, restage=change_sets)
    def stage_then_commit(
        self, changes: dict[bytes, bytes | None], restage: dict[bytes, bytes | None]
    ) -> None:
        version = self.store.version + 1
        self.store.stage(version, restage)
        staged_root = self.store.stage(version, changes)
        assert self.store.commit_staged() == staged_root
        self._record(version, changes)

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = self._open()

    @precondition(lambda self: bool(self.states))
    @rule(data=st.data(), key=keys)
    def read_old_version(self, data: st.DataObject, key: bytes) -> None:
        version = data.draw(st.sampled_from(sorted(self.states)))
        expected = self.states[version].get(key)
        if version < self.store.version - KEEP + 1:
            self.store.wait_for_pruning()
            try:
                self.store.get(key, version)
            except VersionError:
                return
            raise AssertionError(f"version {version} should be pruned")
        value, proof = self.store.get_with_proof(key, version)
        assert value == expected == self.store.get(key, version)
        assert verify_proof(self.store.root_hash(version), key, value, proof)

    @invariant()
    def latest_matches_model(self) -> None:
        assert dict(self.store.iterate()) == self.state
        assert self.store.root_hash() == reference_root(self.state)

    def teardown(self) -> None:
        self.store.wait_for_pruning()
        check_storage(self.store)
        self.store.close()
        shutil.rmtree(self.directory)


StoreMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
test_store_machine = StoreMachine.TestCase
