"""Random publishes and revocations against a model of each account's versions; every module's
invariants after every block (the harness checks them)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.chain.harness import Chain, key
from tests.chain.test_directory import at_version, latest
from tests.chain.test_directory import publish as publish_msg
from tests.chain.test_directory import revoke as revoke_msg
from voxpop.chain.genesis import default_app_state

KEYS = [key(20 + i) for i in range(3)]
KEPT = 3


class DirectoryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-directory-"))
        state = default_app_state([(k.public_key.address, 10**9) for k in KEYS])
        state["directory"] = {"params": {"versions_kept": KEPT}, "records": []}
        self.chain = Chain.start(self.dir / "s", app_state=state)
        # per account: version -> revoked?, for every version ever made
        self.model: list[dict[int, bool]] = [{} for _ in KEYS]

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _current(self, i: int) -> int:
        return max(self.model[i], default=0)

    def _send(self, i: int, msg: tuple[str, dict[str, object]], ok: bool) -> None:
        tx = self.chain.tx(KEYS[i], [msg])
        code = self.chain.check(tx).code
        assert (code == 0) == ok, (code, msg)
        if not ok:
            self.chain.sequences[KEYS[i].public_key.address] -= 1
            return
        assert self.chain.deliver(tx).code == 0

    @rule(i=st.integers(0, 2), skew=st.integers(-1, 1))
    def publish(self, i: int, skew: int) -> None:
        version = max(self._current(i) + 1 + skew, 1)
        ok = version == self._current(i) + 1
        self._send(i, publish_msg(KEYS[i], version), ok)
        if ok:
            self.model[i][version] = False

    @rule(i=st.integers(0, 2), skew=st.integers(-1, 1))
    def revoke(self, i: int, skew: int) -> None:
        current = self._current(i)
        version = max(current + 1 + skew, 1)
        has_keys = current > 0 and not self.model[i][current]
        ok = version == current + 1 and has_keys
        self._send(i, revoke_msg(KEYS[i], version), ok)
        if ok:
            self.model[i][version] = True

    @invariant()
    def matches_model(self) -> None:
        for i, who in enumerate(KEYS):
            current = self._current(i)
            record = latest(self.chain, who)
            if current == 0:
                assert record is None
                continue
            assert record is not None and record.version == current
            assert record.revoked == self.model[i][current]
            for version in self.model[i]:
                kept = at_version(self.chain, who, version)
                assert (kept is not None) == (version > current - KEPT), (version, current)


TestDirectory = DirectoryMachine.TestCase
TestDirectory.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
