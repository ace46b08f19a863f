"""Random key rotations, writes, deletes, agent authorizations and revocations against a model
of the owner's settings. After every step: only the owner or an authorized agent has written;
every stored record's epoch is at most the current one and the record decrypts, for the owner,
with the wrap of its epoch; an agent dropped at a rotation cannot decrypt anything written
after it. Every module's invariants run after every block (the harness checks them)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.chain.harness import Chain, key
from tests.chain.test_settings import (
    WRITES,
    Message,
    as_agent,
    delete,
    new_keys,
    publish,
    put,
    record_of,
    rotate,
    wrap_of,
    wrap_to,
)
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.client.tx import msg_authz_grant, msg_authz_revoke
from voxpop.crypto import settings as fmt
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import open_for_account

OWNER = key(31)
AGENTS = [key(32), key(33)]
OA = OWNER.public_key.address
NAMES = ["location", "device/01/settings", "skill/w.x/values"]


@dataclass
class Model:
    epochs: dict[int, tuple[fmt.SettingsKeys, frozenset[int]]] = field(default_factory=dict)
    records: dict[str, tuple[int, int, bytes]] = field(default_factory=dict)  # version, epoch, pt
    authorized: set[int] = field(default_factory=set)
    writes: int = 0

    @property
    def current(self) -> int:
        return max(self.epochs, default=0)

    def held_by(self, agent: int) -> int:
        """The latest epoch whose keys `agent` was given (0: none)."""
        return max((e for e, (_, who) in self.epochs.items() if agent in who), default=0)


class SettingsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-settings-"))
        state = default_app_state([(k.public_key.address, 10**10) for k in (OWNER, *AGENTS)])
        self.chain = Chain.start(self.dir / "s", app_state=state)
        for who in (OWNER, *AGENTS):
            publish(self.chain, who)
        self.model = Model()
        self.naming_key = fmt.new_key()
        self.counter = 0
        # Epoch 1 wrapped to every agent (a chain with no key yet is covered in test_settings.py)
        self.rotate(set(range(len(AGENTS))), 0)

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _send(self, signer: PrivateKey, msgs: list[Message]) -> int:
        tx = self.chain.tx(signer, msgs, gas_limit=1_000_000)
        code = self.chain.check(tx).code
        if code != 0:
            self.chain.sequences[signer.public_key.address] -= 1
            self.chain.block([])
            return code
        return self.chain.deliver(tx).code

    def _writer(self, who: int) -> tuple[PrivateKey, fmt.SettingsKeys | None, int]:
        """The writer's key, the epoch keys it writes with (None: it holds none), and the code
        its write gets for not being allowed (0: it may write)."""
        if who < 0:
            epoch = self.model.current
            return OWNER, self.model.epochs[epoch][0] if epoch else None, 0
        held = self.model.held_by(who)
        keys = self.model.epochs[held][0] if held else None
        allowed = who in self.model.authorized
        return AGENTS[who], keys, 0 if allowed else errors.NoAuthorizationError.code

    def _as(self, who: int, msg: Message) -> list[Message]:
        return [msg] if who < 0 else [as_agent(AGENTS[who], [msg])]

    @rule(recipients=st.sets(st.integers(0, len(AGENTS) - 1)), skew=st.sampled_from([0, 0, 0, 1]))
    def rotate(self, recipients: set[int], skew: int) -> None:
        epoch = self.model.current + 1 + skew
        keys = new_keys(epoch, self.naming_key)
        wraps = [wrap_to(OWNER, keys), *(wrap_to(AGENTS[i], keys) for i in sorted(recipients))]
        code = self._send(OWNER, [rotate(OA, keys, wraps)])
        if skew:
            assert code == errors.SettingsEpochMismatchError.code
            return
        assert code == 0
        self.model.epochs[epoch] = (keys, frozenset(recipients))

    @rule(agent=st.integers(0, len(AGENTS) - 1))
    def agent_tries_to_rotate(self, agent: int) -> None:
        keys = new_keys(self.model.current + 1, self.naming_key)
        wraps = [wrap_to(OWNER, keys), wrap_to(AGENTS[agent], keys)]
        code = self._send(AGENTS[agent], [as_agent(AGENTS[agent], [rotate(OA, keys, wraps)])])
        assert code == errors.NotDelegableError.code

    @rule(
        who=st.integers(-1, len(AGENTS) - 1),
        name=st.sampled_from(NAMES),
        skew=st.sampled_from([0, 0, 0, 1, -1]),
    )
    def write(self, who: int, name: str, skew: int) -> None:
        signer, keys, refusal = self._writer(who)
        if keys is None:
            # Holds no key: an honest client cannot write (the vault raises SettingsKeyError).
            # The chain cannot tell a ciphertext from noise: an agent left authorized but never
            # given the key could store noise, which is why removing an agent revokes its grant
            return
        stored = self.model.records.get(name)
        version = max((stored[0] if stored else 0) + 1 + skew, 1)
        self.counter += 1
        plaintext = f"{name}={self.counter}".encode()
        code = self._send(signer, self._as(who, put(OA, keys, name, version, plaintext)))
        current = self.model.current
        if refusal:
            expected = refusal
        elif current == 0:
            expected = errors.SettingsNoKeyError.code
        elif keys.epoch != current:
            expected = errors.SettingsStaleEpochError.code
        elif version != (stored[0] if stored else 0) + 1:
            expected = errors.SettingsVersionConflictError.code
        else:
            expected = 0
        assert code == expected, (code, expected)
        event(f"write: code {code}")
        if code == 0:
            self.model.records[name] = (version, keys.epoch, plaintext)
            self.model.writes += 1

    @rule(who=st.integers(-1, len(AGENTS) - 1), name=st.sampled_from(NAMES))
    def remove(self, who: int, name: str) -> None:
        signer, _, refusal = self._writer(who)
        msg = delete(OA, fmt.SettingsKeys(0, bytes(32), self.naming_key), name)
        code = self._send(signer, self._as(who, msg))
        if refusal:
            assert code == refusal
        elif name not in self.model.records:
            assert code == errors.SettingsRecordNotFoundError.code
        else:
            assert code == 0
            del self.model.records[name]

    @rule(agent=st.integers(0, len(AGENTS) - 1))
    def authorize(self, agent: int) -> None:
        address = AGENTS[agent].public_key.address
        assert self._send(OWNER, [msg_authz_grant(OA, address, t) for t in WRITES]) == 0
        self.model.authorized.add(agent)

    @precondition(lambda self: bool(self.model.authorized))
    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from(sorted(self.model.authorized)))
        address = AGENTS[agent].public_key.address
        assert self._send(OWNER, [msg_authz_revoke(OA, address, t) for t in WRITES]) == 0
        self.model.authorized.discard(agent)

    @invariant()
    def records_match_and_decrypt_for_the_owner(self) -> None:
        current = self.model.current
        for name in NAMES:
            record_id = fmt.compute_record_id(self.naming_key, name)
            record = record_of(self.chain, OA, record_id)
            expected = self.model.records.get(name)
            if expected is None:
                assert record is None
                continue
            assert record is not None and (record.version, record.epoch) == expected[:2]
            assert 1 <= record.epoch <= current
            wrap = wrap_of(self.chain, OA, record.epoch, OA)
            keys = fmt.unwrap_keys(record.epoch, open_for_account(OWNER.seed, wrap))
            opened = fmt.decrypt_record(
                keys.settings_key, OA, record_id, record.epoch, record.version, record.ciphertext
            )
            assert opened == expected[2]

    @invariant()
    def dropped_agents_cannot_read_later_writes(self) -> None:
        for name, (version, epoch, _) in self.model.records.items():
            record_id = fmt.compute_record_id(self.naming_key, name)
            record = record_of(self.chain, OA, record_id)
            assert record is not None
            for agent, who in enumerate(AGENTS):
                if agent in self.model.epochs[epoch][1]:
                    continue
                # No wrap of that epoch for it, and no key it ever held opens the record
                assert wrap_of(self.chain, OA, epoch, who.public_key.address) == b""
                for held, (keys, recipients) in self.model.epochs.items():
                    if agent not in recipients:
                        continue
                    try:
                        fmt.decrypt_record(
                            keys.settings_key, OA, record_id, held, version, record.ciphertext
                        )
                    except fmt.SettingsCiphertextError:
                        continue
                    raise AssertionError(f"agent {agent} read {name} of epoch {epoch}")


TestSettings = SettingsMachine.TestCase
TestSettings.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
