"""Random pairing requests, claims, updates, removals, expiries, inbox posts and deletes, by two
owners and by an agent under one owner's grants (granted and revoked at random), against a model
that predicts each tx's exact result code. After every step: the proven lists match the model's
records, only the owner (or its agent under a grant) ever changed them, and no device id or inbox
id was ever given twice. Every module's invariants run after every block (the harness checks
them)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.chain.harness import Chain, key
from tests.chain.test_devices import (
    claim,
    device,
    devices_of,
    pairing,
    pairings_of,
    remove,
    request,
    update,
)
from tests.chain.test_inbox import delete, inbox, post
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.devices.messages import MsgRequestPairing, MsgUpdateDevice
from voxpop.chain.modules.devices.state import ACTIVE, REMOVED, DeviceParams
from voxpop.chain.modules.inbox.messages import MsgPost
from voxpop.chain.modules.inbox.state import InboxParams
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke
from voxpop.crypto.pairing import pairing_id

OWNERS = [key(50), key(51)]
AGENT = key(52)  # OWNERS[0] grants it what the rules say; OWNERS[1] never does
KEYS = [*OWNERS, AGENT]
ADDRS = [k.public_key.address for k in KEYS]
AG = ADDRS[2]
DEVICE_PARAMS = DeviceParams(
    pairing_ttl_seconds=60, max_devices_per_owner=2, max_blob_bytes=64, max_pairings_per_owner=2
)
INBOX_PARAMS = InboxParams(max_message_bytes=64, max_messages_per_owner=2, max_ttl_seconds=3_600)
# Few ids, so that requests reuse them: each is a (salt, code) the agent might draw
IDS = [pairing_id(bytes([i]) * 16, f"CODE{i:02d}") for i in range(8)]
GRANTABLE = (MsgRequestPairing.TYPE, MsgUpdateDevice.TYPE, MsgPost.TYPE)
BLOCK = 5  # seconds each tx's block advances

owners = st.integers(0, 1)
ids = st.sampled_from(IDS)
by_agent = st.booleans()
large = st.sampled_from([False, False, False, True])  # mostly within the limits


@dataclass
class PairingModel:
    owner: int
    expires_at: int


@dataclass
class DeviceModel:
    owner: int
    status: str
    blob: bytes


class DevicesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-devices-"))
        state = default_app_state([(a, 10**12) for a in ADDRS])
        state["devices"] = {"params": DEVICE_PARAMS.to_value(), "devices": [], "pairings": []}
        state["inbox"] = {"params": INBOX_PARAMS.to_value(), "messages": [], "last_ids": []}
        self.chain = Chain.start(self.dir / "d", app_state=state)
        self.grants: set[str] = set()
        self.pairings: dict[bytes, PairingModel] = {}
        self.devices: dict[bytes, DeviceModel] = {}
        self.messages: list[dict[int, int]] = [{}, {}]  # per owner: id -> expires_at
        self.last_ids = [0, 0]
        self.ids_given: list[list[int]] = [[], []]
        self.paired: list[bytes] = []  # every claim's id, in order
        self.blobs: dict[bytes, bytes] = {}  # each request's blob, by id
        for msg_type in GRANTABLE:  # granted to start with; revoked and granted again at random
            self.grant(msg_type)

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- sending, and the model of time ---------------------------------------------------------

    @property
    def now(self) -> int:
        """The time of the next block: the one a tx sent now runs in."""
        return self.chain.time + BLOCK

    def _send(
        self, signer: int, msg: tuple[str, dict[str, Any]], expected: int, advance: int = BLOCK
    ) -> Any:
        """Deliver one message in the next block; its code must be the model's."""
        result = self.chain.block([self.chain.tx(KEYS[signer], [msg])], advance=advance)[0]
        self._end_block(self.chain.time)
        # A tx refused before it runs (a message that does not parse) uses no sequence
        self.chain.sequences[ADDRS[signer]] = self.chain.sequence(KEYS[signer])
        event(f"{msg[0]} -> {errors.ERRORS[expected].name if expected else 'ok'}")
        assert result.code == expected, (result.code, result.log, msg)
        return result

    def _as(self, owner: int, via_agent: bool, msg: tuple[str, dict[str, Any]]) -> tuple[int, Any]:
        """Who signs, and what: the owner itself, or the agent wrapping it in authz/Exec."""
        return (2, msg_authz_exec(AG, [msg])) if via_agent else (owner, msg)

    def _no_grant(self, owner: int, via_agent: bool, msg_type: str) -> bool:
        return via_agent and (owner != 0 or msg_type not in self.grants)

    def _end_block(self, now: int) -> None:
        """What end-block prunes: requests and messages whose expiry has come."""
        self.pairings = {i: p for i, p in self.pairings.items() if p.expires_at > now}
        self.messages = [{i: e for i, e in m.items() if e > now} for m in self.messages]

    # --- grants ---------------------------------------------------------------------------------

    @rule(msg_type=st.sampled_from(GRANTABLE))
    def grant(self, msg_type: str) -> None:
        self._send(0, msg_authz_grant(ADDRS[0], AG, msg_type), 0)
        self.grants.add(msg_type)

    @rule(msg_type=st.sampled_from(GRANTABLE))
    def revoke(self, msg_type: str) -> None:
        expected = 0 if msg_type in self.grants else errors.NoAuthorizationError.code
        self._send(0, msg_authz_revoke(ADDRS[0], AG, msg_type), expected)
        self.grants.discard(msg_type)

    # --- devices --------------------------------------------------------------------------------

    @rule(owner=owners, via_agent=by_agent, pid=ids, large=large)
    def request(self, owner: int, via_agent: bool, pid: bytes, large: bool) -> None:
        blob = bytes([len(self.paired)]) * (65 if large else 40)
        pending = sum(p.owner == owner for p in self.pairings.values())
        if self._no_grant(owner, via_agent, MsgRequestPairing.TYPE):
            expected = errors.NoAuthorizationError.code
        elif large:
            expected = errors.DeviceBlobTooLargeError.code
        elif pid in self.pairings or pid in self.devices:
            expected = errors.PairingIdUsedError.code
        elif pending >= DEVICE_PARAMS.max_pairings_per_owner:
            expected = errors.TooManyPairingsError.code
        else:
            expected = 0
        now = self.now
        salt = bytes([IDS.index(pid)]) * 16
        signer, msg = self._as(owner, via_agent, request(ADDRS[owner], pid, salt, blob, AG))
        if expected == 0:
            self.pairings[pid] = PairingModel(owner, now + DEVICE_PARAMS.pairing_ttl_seconds)
            self.blobs[pid] = blob
        self._send(signer, msg, expected)

    @rule(owner=owners, pid=ids)
    def claim(self, owner: int, pid: bytes) -> None:
        found = self.pairings.get(pid)
        active = sum(d.owner == owner and d.status == ACTIVE for d in self.devices.values())
        if found is None:
            used = pid in self.devices
            expected = (errors.PairingIdUsedError if used else errors.PairingNotFoundError).code
        elif found.owner != owner:
            expected = errors.NotDeviceOwnerError.code
        elif self.now >= found.expires_at:
            expected = errors.PairingExpiredError.code
        elif active >= DEVICE_PARAMS.max_devices_per_owner:
            expected = errors.TooManyDevicesError.code
        else:
            expected = 0
            del self.pairings[pid]
            self.devices[pid] = DeviceModel(owner, ACTIVE, self.blobs[pid])
            self.paired.append(pid)
        self._send(owner, claim(ADDRS[owner], pid), expected)

    @precondition(lambda self: self.pairings)
    @rule(data=st.data(), owner=st.sampled_from([0, 0, 0, 1]))
    def claim_pending(self, data: st.DataObject, owner: int) -> None:
        """Claim a pending request (mostly by the owner it names)."""
        pid = data.draw(st.sampled_from(sorted(self.pairings)))
        self.claim(self.pairings[pid].owner if owner == 0 else 1 - self.pairings[pid].owner, pid)

    @rule(owner=owners)
    def request_burst(self, owner: int) -> None:
        """Three requests in a row with fresh ids: past the per-owner limit of two."""
        fresh = [i for i in IDS if i not in self.pairings and i not in self.devices]
        for pid in fresh[:3]:
            self.request(owner, False, pid, False)

    @rule(owner=owners)
    def claim_all(self, owner: int) -> None:
        """Claim every pending request of the owner: past the device limit, at times."""
        for pid in sorted(i for i, p in self.pairings.items() if p.owner == owner):
            self.claim(owner, pid)

    @precondition(lambda self: self.pairings)
    @rule(data=st.data())
    def claim_at_expiry(self, data: st.DataObject) -> None:
        """The owner claims in the very block that reaches the expiry, before end-block prunes
        the request: too late all the same."""
        pid = data.draw(st.sampled_from(sorted(self.pairings)))
        found = self.pairings[pid]
        wait = found.expires_at - self.chain.time
        expected = errors.PairingExpiredError.code
        self._send(found.owner, claim(ADDRS[found.owner], pid), expected, advance=max(wait, 1))

    @precondition(lambda self: self.devices)
    @rule(data=st.data(), via_agent=by_agent, is_large=large)
    def update_device(self, data: st.DataObject, via_agent: bool, is_large: bool) -> None:
        pid = data.draw(st.sampled_from(sorted(self.devices)))
        self.update(self.devices[pid].owner, via_agent, pid, is_large)

    @precondition(lambda self: self.devices)
    @rule(data=st.data())
    def remove_device(self, data: st.DataObject) -> None:
        pid = data.draw(st.sampled_from(sorted(self.devices)))
        self.remove(self.devices[pid].owner, pid)

    @precondition(lambda self: any(self.messages))
    @rule(data=st.data())
    def delete_held(self, data: st.DataObject) -> None:
        owner = data.draw(st.sampled_from([o for o in (0, 1) if self.messages[o]]))
        picks = data.draw(
            st.lists(
                st.sampled_from(sorted(self.messages[owner])), min_size=1, max_size=2, unique=True
            )
        )
        self.delete(owner, picks)

    def _device_code(self, owner: int, pid: bytes) -> int:
        found = self.devices.get(pid)
        if found is None:
            return errors.DeviceNotFoundError.code
        if found.owner != owner:
            return errors.NotDeviceOwnerError.code
        if found.status != ACTIVE:
            return errors.DeviceRemovedError.code
        return 0

    @rule(owner=owners, via_agent=by_agent, pid=ids, large=large)
    def update(self, owner: int, via_agent: bool, pid: bytes, large: bool) -> None:
        blob = bytes([200 + len(self.paired)]) * (65 if large else 50)
        if self._no_grant(owner, via_agent, MsgUpdateDevice.TYPE):
            expected = errors.NoAuthorizationError.code
        else:
            expected = self._device_code(owner, pid)
            if expected == 0 and large:
                expected = errors.DeviceBlobTooLargeError.code
        if expected == 0:
            self.devices[pid].blob = blob
        signer, msg = self._as(owner, via_agent, update(ADDRS[owner], pid, blob))
        self._send(signer, msg, expected)

    @rule(owner=owners, pid=ids)
    def remove(self, owner: int, pid: bytes) -> None:
        expected = self._device_code(owner, pid)
        if expected == 0:
            self.devices[pid].status = REMOVED
            self.devices[pid].blob = b""
        self._send(owner, remove(ADDRS[owner], pid), expected)

    @rule(owner=owners, pid=ids)
    def impostor(self, owner: int, pid: bytes) -> None:
        """The agent signs an owner's message itself, without Exec: never its to send."""
        for msg in (claim(ADDRS[owner], pid), post(ADDRS[owner])):
            # Refused before it runs (no fee, no sequence): check_tx says so
            res = self.chain.check(self.chain.tx(AGENT, [msg]))
            self.chain.sequences[AG] -= 1
            assert res.code == errors.UnauthorizedError.code, (res.code, res.log)

    @rule(seconds=st.sampled_from([5, 30, 60, 600]))
    def wait(self, seconds: int) -> None:
        self.chain.block([], advance=seconds)
        self._end_block(self.chain.time)

    # --- inbox ----------------------------------------------------------------------------------

    @rule(
        owner=owners,
        via_agent=by_agent,
        expiry=st.sampled_from(["max", "soon", "now", "beyond"]),
        large=large,
    )
    def post(self, owner: int, via_agent: bool, expiry: str, large: bool) -> None:
        now = self.now
        ttl = INBOX_PARAMS.max_ttl_seconds
        expires_at = {"max": 0, "soon": now + 10, "now": now, "beyond": now + ttl + 1}[expiry]
        if self._no_grant(owner, via_agent, MsgPost.TYPE):
            expected = errors.NoAuthorizationError.code
        elif large:
            expected = errors.InboxMessageTooLargeError.code
        elif expiry in ("now", "beyond"):
            expected = errors.InboxExpiryInvalidError.code
        elif len(self.messages[owner]) >= INBOX_PARAMS.max_messages_per_owner:
            expected = errors.InboxFullError.code
        else:
            expected = 0
        ciphertext = bytes(65 if large else 60)
        if expected == 0:  # the owner's next id, never one given before
            self.last_ids[owner] += 1
            self.ids_given[owner].append(self.last_ids[owner])
            self.messages[owner][self.last_ids[owner]] = expires_at or now + ttl
        signer, msg = self._as(owner, via_agent, post(ADDRS[owner], ciphertext, expires_at))
        result = self._send(signer, msg, expected)
        posted = [int(event_attrs(e)["id"]) for e in result.events if e.type == "inbox_post"]
        assert posted == ([self.last_ids[owner]] if expected == 0 else [])

    @rule(owner=owners, picks=st.lists(st.integers(1, 6), min_size=1, max_size=3))
    def delete(self, owner: int, picks: list[int]) -> None:
        if len(set(picks)) != len(picks):
            expected = errors.InvalidMessageError.code
        elif any(i not in self.messages[owner] for i in picks):
            expected = errors.InboxMessageNotFoundError.code
        else:
            expected = 0
            for i in picks:
                del self.messages[owner][i]
        self._send(owner, delete(ADDRS[owner], *picks), expected)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def lists_match_the_records(self) -> None:
        """The proven lists name exactly the model's pending requests, active devices and
        messages, each under its own owner; each record is as the model says."""
        for owner in (0, 1):
            addr = ADDRS[owner]
            expected_pairings = sorted(i for i, p in self.pairings.items() if p.owner == owner)
            assert pairings_of(self.chain, addr) == expected_pairings
            active = sorted(
                i for i, d in self.devices.items() if d.owner == owner and d.status == ACTIVE
            )
            assert devices_of(self.chain, addr) == active
            assert inbox(self.chain, addr) == sorted(self.messages[owner])
        assert pairings_of(self.chain, AG) == devices_of(self.chain, AG) == []
        for pid in IDS:
            stored = device(self.chain, pid)
            model = self.devices.get(pid)
            assert (stored is None) == (model is None)
            if stored is not None and model is not None:
                assert (stored.owner, stored.agent, stored.status, stored.blob) == (
                    ADDRS[model.owner],
                    AG,
                    model.status,
                    model.blob,
                )
            found = pairing(self.chain, pid)
            assert (found is None) == (pid not in self.pairings)
            assert found is None or stored is None  # an id is a request or a device, never both

    @invariant()
    def ids_never_reused(self) -> None:
        assert len(set(self.paired)) == len(self.paired)
        for given in self.ids_given:
            assert given == sorted(set(given))


TestDevices = DevicesMachine.TestCase
TestDevices.settings = settings(max_examples=25, stateful_step_count=40, deadline=None)
