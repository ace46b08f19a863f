"""devices: pairing requests, claims, updates and removals, by the owner or its agent under authz;
every bad input is refused with its code and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.bank.state import balance_key
from voxpop.chain.modules.devices.messages import (
    MAX_BLOB_BYTES,
    MsgClaimDevice,
    MsgRemoveDevice,
    MsgRequestPairing,
    MsgUpdateDevice,
)
from voxpop.chain.modules.devices.module import DevicesModule
from voxpop.chain.modules.devices.state import (
    ACTIVE,
    REMOVED,
    Device,
    DeviceParams,
    Pairing,
    decode_device,
    decode_pairing,
    get_device,
)
from voxpop.client.lists import verify_list
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.pairing import new_code, new_salt, pairing_id
from voxpop.store.proof import Proof, verify_proof

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
Msg = tuple[str, dict[str, Any]]
TTL = DeviceParams().pairing_ttl_seconds
BLOB = b"\x01" + bytes(range(24)) + b"sealed name, platform, versions" + bytes(16)


# --- messages and reads ---------------------------------------------------------------------------


def request(
    owner: bytes,
    pid: bytes,
    salt: bytes = bytes(16),
    blob: bytes = BLOB,
    agent: bytes = B,
) -> Msg:
    return MsgRequestPairing(owner, agent, pid, salt, blob).raw()


def claim(owner: bytes, pid: bytes) -> Msg:
    return MsgClaimDevice(owner, pid).raw()


def update(owner: bytes, device_id: bytes, blob: bytes) -> Msg:
    return MsgUpdateDevice(owner, device_id, blob).raw()


def remove(owner: bytes, device_id: bytes) -> Msg:
    return MsgRemoveDevice(owner, device_id).raw()


def as_agent(agent: PrivateKey, *msgs: Msg) -> Msg:
    """The owner's messages wrapped in authz/Exec, signed by the agent."""
    return msg_authz_exec(agent.public_key.address, list(msgs))


def new_pairing(code: str | None = None) -> tuple[bytes, bytes, str]:
    """A fresh (pairing id, salt, code), as an agent makes them."""
    salt, code = new_salt(), code or new_code()
    return pairing_id(salt, code), salt, code


def pairing(chain: Chain, pid: bytes) -> Pairing | None:
    raw = chain.query("/devices/pairing", pid)
    return decode_pairing(raw) if raw else None


def device(chain: Chain, device_id: bytes) -> Device | None:
    raw = chain.query("/devices/device", device_id)
    return decode_device(raw) if raw else None


def listed(chain: Chain, path: str, owner: bytes) -> list[bytes]:
    """The owner's list, from the list query verified against the app hash."""
    res = chain.app.query(RequestQuery(path, owner, prove=True))
    assert res.code == 0, res.log
    items = verify_list(chain.app.last_app_hash, path, owner, res.key, res.value, res.proof)
    return [i.id for i in items]


def devices_of(chain: Chain, owner: bytes) -> list[bytes]:
    return listed(chain, "/devices/by_owner", owner)


def pairings_of(chain: Chain, owner: bytes) -> list[bytes]:
    return listed(chain, "/devices/pairings_by_owner", owner)


def run(chain: Chain, who: PrivateKey, *msgs: Msg) -> Any:
    result = chain.deliver(chain.tx(who, list(msgs)))
    assert result.code == 0, result.log
    return result


def refused(chain: Chain, who: PrivateKey, *msgs: Msg) -> int:
    """The code a tx of `msgs` fails with (at check_tx, or else in its block), checking it changed
    no state but the signer's sequence and fee."""
    before = chain.snapshot()
    tx = chain.tx(who, list(msgs))
    code = chain.check(tx).code
    if code != 0:
        chain.sequences[who.public_key.address] -= 1
        chain.block([])
    else:
        code = chain.deliver(tx).code
    assert code != 0
    after = chain.snapshot()
    changed = {k for k in set(after) | set(before) if after.get(k) != before.get(k)}
    fee_keys = {balance_key(who.public_key.address), balance_key(module_address("fee_collector"))}
    assert not {k for k in changed if k.startswith(b"devices/")}
    assert {k for k in changed if k.startswith(b"bank/")} <= fee_keys
    return code


def grant(chain: Chain, *msg_types: str, owner: PrivateKey = ALICE, agent: bytes = B) -> None:
    granter = owner.public_key.address
    run(chain, owner, *(msg_authz_grant(granter, agent, t) for t in msg_types))


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """ALICE (an owner), BOB (her agent) and CAROL (another owner), all funded."""
    c = Chain.start(tmp_path / "state", [(ALICE, 10**9), (BOB, 10**9), (CAROL, 10**9)])
    yield c
    c.app.store.close()


@pytest.fixture
def paired(chain: Chain) -> tuple[Chain, bytes]:
    """ALICE's device, paired through a request BOB (her agent) made under her grant."""
    grant(chain, MsgRequestPairing.TYPE, MsgUpdateDevice.TYPE)
    pid, salt, _ = new_pairing()
    run(chain, BOB, as_agent(BOB, request(A, pid, salt)))
    run(chain, ALICE, claim(A, pid))
    return chain, pid


# --- pairing --------------------------------------------------------------------------------------


def test_request_pairing(chain: Chain) -> None:
    pid, salt, code = new_pairing()
    tx = chain.tx(ALICE, [request(A, pid, salt)])
    result = chain.deliver(tx)
    assert result.code == 0, result.log
    # The code itself never goes on chain: only the id it hashes to, with the salt
    assert code.encode() not in tx
    assert pairing(chain, pid) == Pairing(A, B, salt, BLOB, chain.time, chain.time + TTL)
    assert pairings_of(chain, A) == [pid]
    assert devices_of(chain, A) == []
    assert device(chain, pid) is None
    events = [event_attrs(e) for e in result.events if e.type == "pairing_requested"]
    assert events == [
        {
            "pairing_id": pid.hex(),
            "owner": encode_address(A),
            "agent": encode_address(B),
            "expires_at": str(chain.time + TTL),
        }
    ]


def test_claim(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt))
    requested_at = chain.time
    result = run(chain, ALICE, claim(A, pid))
    assert device(chain, pid) == Device(A, B, ACTIVE, BLOB, chain.time, chain.time)
    assert chain.time > requested_at
    assert pairing(chain, pid) is None
    assert devices_of(chain, A) == [pid]
    assert pairings_of(chain, A) == []
    assert get_device(chain.app.committed, pid) == device(chain, pid)
    events = [event_attrs(e) for e in result.events if e.type == "device_paired"]
    assert events == [
        {"device_id": pid.hex(), "owner": encode_address(A), "agent": encode_address(B)}
    ]


def test_request_and_claim_in_one_tx(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt), claim(A, pid))
    assert devices_of(chain, A) == [pid]


def test_owner_finds_its_request_by_the_code(chain: Chain) -> None:
    """What the owner's CLI does: hash the spoken code with each pending request's salt."""
    requests = [new_pairing() for _ in range(3)]
    run(chain, ALICE, *(request(A, pid, salt) for pid, salt, _ in requests))
    spoken = requests[1][2]
    found = [
        pid
        for pid in pairings_of(chain, A)
        if pairing_id(pairing(chain, pid).salt, spoken) == pid  # type: ignore[union-attr]
    ]
    assert found == [requests[1][0]]


def test_invalid_claim_by_another_owner(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt))
    # CAROL claims it for herself: the request names ALICE
    assert refused(chain, CAROL, claim(C, pid)) == errors.NotDeviceOwnerError.code
    # CAROL signs a claim naming ALICE: she is not its signer
    assert refused(chain, CAROL, claim(A, pid)) == errors.UnauthorizedError.code
    # ALICE's agent, even with other grants, cannot claim for her
    grant(chain, MsgRequestPairing.TYPE)
    assert refused(chain, BOB, as_agent(BOB, claim(A, pid))) == errors.NoAuthorizationError.code
    run(chain, ALICE, claim(A, pid))
    assert devices_of(chain, A) == [pid]
    assert devices_of(chain, C) == []


def test_invalid_claim_unknown(chain: Chain) -> None:
    pid, _, _ = new_pairing()
    assert refused(chain, ALICE, claim(A, pid)) == errors.PairingNotFoundError.code


def test_invalid_claim_wrong_code(chain: Chain) -> None:
    """A code other than the device's gives another id: there is no such request."""
    pid, salt, _ = new_pairing("ABC123")
    run(chain, ALICE, request(A, pid, salt))
    wrong = pairing_id(salt, "ABC124")
    assert refused(chain, ALICE, claim(A, wrong)) == errors.PairingNotFoundError.code
    assert pairing(chain, pid) is not None


def test_invalid_claim_expired(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt))
    expires_at = chain.time + TTL
    # In the block that reaches the expiry, before end-block prunes it: expired
    res = chain.block([chain.tx(ALICE, [claim(A, pid)])], advance=expires_at - chain.time)[0]
    assert res.code == errors.PairingExpiredError.code
    # ... and the end of that block pruned it: nothing is left of it
    assert pairing(chain, pid) is None and device(chain, pid) is None
    assert pairings_of(chain, A) == []
    assert {k for k in chain.snapshot() if k.startswith(b"devices/")} == {b"devices/params"}
    events = [event_attrs(e) for e in chain.events if e.type == "pairing_expired"]
    assert events == [{"pairing_id": pid.hex(), "owner": encode_address(A)}]
    assert refused(chain, ALICE, claim(A, pid)) == errors.PairingNotFoundError.code


def test_claim_just_before_expiry(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt))
    res = chain.block([chain.tx(ALICE, [claim(A, pid)])], advance=TTL - 1)[0]
    assert res.code == 0, res.log
    assert devices_of(chain, A) == [pid]


def test_invalid_claim_reused(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    assert refused(chain, ALICE, claim(A, pid)) == errors.PairingIdUsedError.code
    run(chain, ALICE, remove(A, pid))
    assert refused(chain, ALICE, claim(A, pid)) == errors.PairingIdUsedError.code


def test_invalid_request_reused_id(paired: tuple[Chain, bytes]) -> None:
    chain, device_id = paired
    pid, salt, _ = new_pairing()
    run(chain, BOB, as_agent(BOB, request(A, pid, salt)))
    used = errors.PairingIdUsedError.code
    # A pending request's id, a device's, a removed device's; and for another owner too
    assert refused(chain, BOB, as_agent(BOB, request(A, pid, salt))) == used
    assert refused(chain, BOB, as_agent(BOB, request(A, device_id))) == used
    assert refused(chain, CAROL, request(C, device_id)) == used
    run(chain, ALICE, remove(A, device_id))
    assert refused(chain, BOB, as_agent(BOB, request(A, device_id))) == used
    assert refused(chain, CAROL, request(C, device_id)) == used


def test_invalid_request_blob_size(chain: Chain) -> None:
    limit = DeviceParams().max_blob_bytes
    pid, salt, _ = new_pairing()
    too_large = errors.DeviceBlobTooLargeError.code
    assert refused(chain, ALICE, request(A, pid, salt, bytes(limit + 1))) == too_large
    # Beyond what any message may carry, and empty: refused at parse time
    huge = (
        "devices/RequestPairing",
        {**request(A, pid, salt)[1], "blob": bytes(MAX_BLOB_BYTES + 1)},
    )
    assert refused(chain, ALICE, huge) == errors.InvalidMessageError.code
    empty = ("devices/RequestPairing", {**request(A, pid, salt)[1], "blob": b""})
    assert refused(chain, ALICE, empty) == errors.InvalidMessageError.code
    run(chain, ALICE, request(A, pid, salt, bytes(limit)))


@pytest.mark.parametrize(
    ("field", "value"),
    [("pairing_id", bytes(31)), ("salt", bytes(15)), ("salt", bytes(17)), ("agent", bytes(19))],
)
def test_invalid_request_fields(chain: Chain, field: str, value: bytes) -> None:
    pid, salt, _ = new_pairing()
    msg = ("devices/RequestPairing", {**request(A, pid, salt)[1], field: value})
    assert refused(chain, ALICE, msg) in (
        errors.InvalidMessageError.code,
        errors.InvalidAddressError.code,
    )


def test_invalid_too_many_pairings(tmp_path: Path) -> None:
    chain = start(tmp_path, max_pairings_per_owner=2)
    first, second = new_pairing(), new_pairing()
    run(chain, ALICE, request(A, first[0], first[1]), request(A, second[0], second[1]))
    third = new_pairing()
    assert refused(chain, ALICE, request(A, third[0], third[1])) == errors.TooManyPairingsError.code
    # Another owner has its own room; a claim frees a slot
    run(chain, BOB, request(B, third[0], third[1]))
    run(chain, ALICE, claim(A, first[0]))
    fourth = new_pairing()
    run(chain, ALICE, request(A, fourth[0], fourth[1]))
    chain.app.store.close()


def test_invalid_too_many_devices(tmp_path: Path) -> None:
    chain = start(tmp_path, max_devices_per_owner=1)
    first, second = new_pairing(), new_pairing()
    run(chain, ALICE, request(A, first[0], first[1]), request(A, second[0], second[1]))
    run(chain, ALICE, claim(A, first[0]))
    assert refused(chain, ALICE, claim(A, second[0])) == errors.TooManyDevicesError.code
    # Removing one makes room
    run(chain, ALICE, remove(A, first[0]), claim(A, second[0]))
    assert devices_of(chain, A) == [second[0]]
    chain.app.store.close()


# --- update and remove ----------------------------------------------------------------------------


def test_update(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    paired_at = device(chain, pid).paired_at  # type: ignore[union-attr]
    renamed = b"\x01" + bytes(40) + b"kitchen"
    result = run(chain, ALICE, update(A, pid, renamed))
    assert device(chain, pid) == Device(A, B, ACTIVE, renamed, paired_at, chain.time)
    events = [event_attrs(e) for e in result.events if e.type == "device_updated"]
    assert events == [{"device_id": pid.hex(), "owner": encode_address(A)}]


def test_agent_updates_under_grant(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    report = b"\x01" + bytes(40) + b"version 2"
    run(chain, BOB, as_agent(BOB, update(A, pid, report)))
    assert device(chain, pid).blob == report  # type: ignore[union-attr]
    # Revoked: the agent is stopped at once
    run(chain, ALICE, msg_authz_revoke(A, B, MsgUpdateDevice.TYPE))
    no_grant = errors.NoAuthorizationError.code
    assert refused(chain, BOB, as_agent(BOB, update(A, pid, b"\x01late"))) == no_grant
    assert device(chain, pid).blob == report  # type: ignore[union-attr]


def test_invalid_agent_without_grant(chain: Chain) -> None:
    pid, salt, _ = new_pairing()
    no_grant = errors.NoAuthorizationError.code
    assert refused(chain, CAROL, as_agent(CAROL, request(A, pid, salt, agent=C))) == no_grant
    # A grant of another type does not help; nor does a grant from another owner
    grant(chain, MsgUpdateDevice.TYPE, agent=C)
    assert refused(chain, CAROL, as_agent(CAROL, request(A, pid, salt, agent=C))) == no_grant
    grant(chain, MsgRequestPairing.TYPE, owner=BOB, agent=C)
    assert refused(chain, CAROL, as_agent(CAROL, request(A, pid, salt, agent=C))) == no_grant
    # The agent signing as the owner directly: not the signer
    assert refused(chain, CAROL, request(A, pid, salt)) == errors.UnauthorizedError.code


def test_invalid_request_after_revoke(chain: Chain) -> None:
    grant(chain, MsgRequestPairing.TYPE)
    pid, salt, _ = new_pairing()
    run(chain, BOB, as_agent(BOB, request(A, pid, salt)))
    run(chain, ALICE, msg_authz_revoke(A, B, MsgRequestPairing.TYPE))
    again, salt2, _ = new_pairing()
    no_grant = errors.NoAuthorizationError.code
    assert refused(chain, BOB, as_agent(BOB, request(A, again, salt2))) == no_grant
    # What the agent made before stays the owner's to claim
    run(chain, ALICE, claim(A, pid))


def test_remove(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    paired_at = device(chain, pid).paired_at  # type: ignore[union-attr]
    result = run(chain, ALICE, remove(A, pid))
    # A tombstone without its blob, off the owner's list
    assert device(chain, pid) == Device(A, B, REMOVED, b"", paired_at, chain.time)
    assert devices_of(chain, A) == []
    events = [event_attrs(e) for e in result.events if e.type == "device_removed"]
    assert events == [{"device_id": pid.hex(), "owner": encode_address(A)}]


def test_invalid_update_or_remove_removed(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    run(chain, ALICE, remove(A, pid))
    removed = errors.DeviceRemovedError.code
    assert refused(chain, ALICE, update(A, pid, BLOB)) == removed
    assert refused(chain, BOB, as_agent(BOB, update(A, pid, BLOB))) == removed
    assert refused(chain, ALICE, remove(A, pid)) == removed


def test_invalid_update_or_remove_by_another_owner(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    not_owner = errors.NotDeviceOwnerError.code
    assert refused(chain, CAROL, update(C, pid, BLOB)) == not_owner
    assert refused(chain, CAROL, remove(C, pid)) == not_owner
    # ALICE's agent acting for CAROL has no grant from her
    grant(chain, MsgUpdateDevice.TYPE, owner=CAROL)
    assert refused(chain, BOB, as_agent(BOB, update(C, pid, BLOB))) == not_owner


def test_invalid_update_or_remove_unknown(chain: Chain) -> None:
    pid, _, _ = new_pairing()
    assert refused(chain, ALICE, update(A, pid, BLOB)) == errors.DeviceNotFoundError.code
    assert refused(chain, ALICE, remove(A, pid)) == errors.DeviceNotFoundError.code


def test_invalid_update_pending(chain: Chain) -> None:
    """A pending request is not a device yet."""
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt))
    assert refused(chain, ALICE, update(A, pid, BLOB)) == errors.DeviceNotFoundError.code


def test_invalid_update_blob_size(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    limit = DeviceParams().max_blob_bytes
    too_large = errors.DeviceBlobTooLargeError.code
    assert refused(chain, BOB, as_agent(BOB, update(A, pid, bytes(limit + 1)))) == too_large
    empty = ("devices/Update", {"owner": A, "device_id": pid, "blob": b""})
    assert refused(chain, ALICE, empty) == errors.InvalidMessageError.code


# --- expiry ---------------------------------------------------------------------------------------


def test_expired_requests_are_pruned_oldest_first(chain: Chain) -> None:
    early, late = new_pairing(), new_pairing()
    run(chain, ALICE, request(A, early[0], early[1]))
    chain.block([], advance=100)
    run(chain, ALICE, request(A, late[0], late[1]))
    assert sorted(pairings_of(chain, A)) == sorted([early[0], late[0]])
    chain.block([], advance=TTL - 100)
    assert pairings_of(chain, A) == [late[0]]
    chain.block([], advance=100)
    assert pairings_of(chain, A) == []
    assert {k for k in chain.snapshot() if k.startswith(b"devices/")} == {b"devices/params"}


# --- queries --------------------------------------------------------------------------------------


def test_queries_are_provable(paired: tuple[Chain, bytes]) -> None:
    chain, pid = paired
    for path, data in (("/devices/device", pid), ("/devices/pairing", pid)):
        res = chain.app.query(RequestQuery(path, data, prove=True))
        assert res.code == 0, res.log
        present = res.value or None
        assert verify_proof(chain.app.last_app_hash, res.key, present, Proof.decode(res.proof))
    assert devices_of(chain, A) == [pid]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/devices/device", b""),
        ("/devices/device", bytes(31)),
        ("/devices/pairing", bytes(33)),
        ("/devices/by_owner", bytes(19)),
        ("/devices/pairings_by_owner", bytes(32)),
    ],
)
def test_invalid_query_data(chain: Chain, path: str, data: bytes) -> None:
    res = chain.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


# --- genesis --------------------------------------------------------------------------------------


def start(tmp_path: Path, **params: int) -> Chain:
    state = default_app_state([(A, 10**9), (B, 10**9), (C, 10**9)])
    state["devices"] = {
        "params": {**DeviceParams().to_value(), **params},
        "devices": [],
        "pairings": [],
    }
    return Chain.start(tmp_path / "devices", app_state=state)


def genesis_device(**fields: Any) -> dict[str, Any]:
    return {
        "id": "11" * 32,
        "owner": encode_address(A),
        "agent": encode_address(B),
        "status": ACTIVE,
        "blob": BLOB.hex(),
        "paired_at": 5,
        "updated_at": 7,
        **fields,
    }


def genesis_pairing(**fields: Any) -> dict[str, Any]:
    return {
        "id": "22" * 32,
        "owner": encode_address(A),
        "agent": encode_address(B),
        "salt": "33" * 16,
        "blob": BLOB.hex(),
        "requested_at": 10,
        "expires_at": 610,
        **fields,
    }


def test_genesis_export_and_import(paired: tuple[Chain, bytes], tmp_path: Path) -> None:
    chain, pid = paired
    other, salt, _ = new_pairing()
    gone, _, _ = new_pairing()
    run(chain, ALICE, request(A, gone), claim(A, gone), remove(A, gone))
    run(chain, BOB, as_agent(BOB, request(A, other, salt)))
    exported = DevicesModule().export_genesis(chain.app.committed)
    assert len(exported["devices"]) == 2 and len(exported["pairings"]) == 1
    state = default_app_state([(A, 10**9)])
    state["devices"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    for i in (pid, gone):
        assert device(again, i) == device(chain, i)
    assert pairing(again, other) == pairing(chain, other)
    assert devices_of(again, A) == devices_of(chain, A) == [pid]
    assert pairings_of(again, A) == [other]
    assert DevicesModule().export_genesis(again.app.committed) == exported
    # The ids stay taken after the import
    assert refused(again, ALICE, request(A, gone)) == errors.PairingIdUsedError.code
    again.app.store.close()


def test_genesis_request_past_its_expiry_is_pruned_at_once(tmp_path: Path) -> None:
    state = default_app_state([(A, 10**9)])
    state["devices"] = {
        "params": DeviceParams().to_value(),
        "devices": [],
        "pairings": [genesis_pairing()],  # expired long before genesis time
    }
    chain = Chain.start(tmp_path / "g", app_state=state)
    assert pairing(chain, bytes.fromhex("22" * 32)) is None
    chain.app.store.close()


@pytest.mark.parametrize(
    ("devices", "pairings"),
    [
        ([genesis_device(id="11" * 31)], []),
        ([genesis_device(id="zz" * 32)], []),
        ([genesis_device(owner="vox1nope")], []),
        ([genesis_device(agent=7)], []),
        ([genesis_device(status="pending")], []),
        ([genesis_device(blob="")], []),
        ([genesis_device(blob="00" * (MAX_BLOB_BYTES + 1))], []),
        ([genesis_device(status=REMOVED)], []),  # a tombstone keeps no blob
        ([genesis_device(paired_at=8)], []),  # after updated_at
        ([genesis_device(updated_at=1 << 64)], []),
        ([genesis_device(updated_at=-1)], []),
        ([genesis_device(extra=1)], []),
        ([genesis_device(), genesis_device()], []),
        ([genesis_device(id="22" * 32)], [genesis_pairing()]),  # a device's id as a request's
        ([], [genesis_pairing(salt="33" * 15)]),
        ([], [genesis_pairing(blob="")]),
        ([], [genesis_pairing(expires_at=10)]),
        ([], [genesis_pairing(expires_at=10 + 86_401)]),
        ([], [genesis_pairing(), genesis_pairing()]),
        ([], [genesis_pairing(id="22" * 32 + "00")]),
        (["x"], []),
        ([], [[]]),
    ],
)
def test_invalid_genesis(tmp_path: Path, devices: list[Any], pairings: list[Any]) -> None:
    state = default_app_state([])
    state["devices"] = {
        "params": DeviceParams().to_value(),
        "devices": devices,
        "pairings": pairings,
    }
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"params": DeviceParams().to_value(), "devices": [], "pairings": {}},
        {"params": DeviceParams().to_value(), "devices": []},
        {
            "params": {**DeviceParams().to_value(), "pairing_ttl_seconds": 59},
            "devices": [],
            "pairings": [],
        },
        {
            "params": {**DeviceParams().to_value(), "max_blob_bytes": 8_193},
            "devices": [],
            "pairings": [],
        },
        {
            "params": {**DeviceParams().to_value(), "max_devices_per_owner": 0},
            "devices": [],
            "pairings": [],
        },
        {
            "params": {**DeviceParams().to_value(), "max_pairings_per_owner": 65},
            "devices": [],
            "pairings": [],
        },
        {"params": {"pairing_ttl_seconds": 600}, "devices": [], "pairings": []},
    ],
)
def test_invalid_genesis_shape_and_params(tmp_path: Path, data: dict[str, Any]) -> None:
    state = default_app_state([])
    state["devices"] = data
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


def test_genesis_holds_what_lowered_params_left(tmp_path: Path) -> None:
    """Governance may lower a limit below what owners hold: the export still imports."""
    params = {**DeviceParams().to_value(), "max_devices_per_owner": 1, "max_blob_bytes": 64}
    two = [genesis_device(id=f"{i:02x}" * 32, blob="00" * 100) for i in (2, 3)]
    state = default_app_state([(A, 10**9)])
    state["devices"] = {"params": params, "devices": two, "pairings": []}
    chain = Chain.start(tmp_path / "g", app_state=state)
    assert len(devices_of(chain, A)) == 2
    # ... and the next claim meets the lower limit
    pid, salt, _ = new_pairing()
    run(chain, ALICE, request(A, pid, salt, bytes(64)))
    assert refused(chain, ALICE, claim(A, pid)) == errors.TooManyDevicesError.code
    chain.app.store.close()


def test_invalid_genesis_beyond_the_per_owner_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxpop.chain.modules.devices import state as devices_state

    monkeypatch.setattr(devices_state, "MAX_DEVICES_PER_OWNER", 2)
    removed = genesis_device(id="01" * 32, status=REMOVED, blob="")
    two = [genesis_device(id=f"{i:02x}" * 32) for i in (2, 3)]
    params = DeviceParams(max_devices_per_owner=2).to_value()
    state = default_app_state([])
    # Two active devices and a tombstone fit a list of two
    state["devices"] = {"params": params, "devices": [removed, *two], "pairings": []}
    Chain.start(tmp_path / "ok", app_state=state).app.store.close()
    state["devices"] = {
        "params": params,
        "devices": [*two, genesis_device(id="04" * 32)],
        "pairings": [],
    }
    with pytest.raises(errors.InvalidGenesisError, match="too many devices"):
        Chain.start(tmp_path / "devices", app_state=state)
    limit = devices_state.MAX_PAIRINGS_PER_OWNER
    pairings = [genesis_pairing(id=f"{i:064x}") for i in range(limit + 1)]
    state["devices"] = {"params": params, "devices": [], "pairings": pairings}
    with pytest.raises(errors.InvalidGenesisError, match="too many pending"):
        Chain.start(tmp_path / "pairings", app_state=state)


def test_invalid_genesis_too_many_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxpop.chain.modules.devices import module

    monkeypatch.setattr(module, "MAX_GENESIS_PAIRINGS", 1)
    state = default_app_state([])
    pairings = [
        genesis_pairing(id=f"{i:02x}" * 32, owner=encode_address(bytes([i]) * 20)) for i in (1, 2)
    ]
    state["devices"] = {"params": DeviceParams().to_value(), "devices": [], "pairings": pairings}
    with pytest.raises(errors.InvalidGenesisError, match="at most"):
        Chain.start(tmp_path / "g", app_state=state)


# --- params through governance --------------------------------------------------------------------


def scratch(chain: Chain) -> Any:
    """A context over committed state whose writes go nowhere (what a proposal's action gets)."""
    from voxpop.chain.context import BlockInfo, Context
    from voxpop.chain.gas import InfiniteGasMeter
    from voxpop.chain.kv import Branch
    from voxpop.chain.modules.auth.state import AuthParams

    block = BlockInfo("voxpop-test", chain.app.last_height + 1, chain.time + 5)
    return Context(block, Branch(chain.app.committed), InfiniteGasMeter(), AuthParams().gas)


def test_params_change_within_bounds(chain: Chain) -> None:
    from voxpop.chain.modules.devices.state import get_params

    module, ctx = DevicesModule(), scratch(chain)
    current = module.params_value(chain.app.committed)
    assert current == DeviceParams().to_value()
    module.set_params_value(ctx, {**current, "pairing_ttl_seconds": 120})
    assert get_params(ctx) == DeviceParams(pairing_ttl_seconds=120)
    for bad in (
        {**current, "pairing_ttl_seconds": 86_401},
        {**current, "max_blob_bytes": 63},
        {**current, "max_devices_per_owner": 1_025},
        {**current, "unknown": 1},
        {"pairing_ttl_seconds": 120},
    ):
        with pytest.raises(errors.InvalidGenesisError):
            module.set_params_value(scratch(chain), bad)
