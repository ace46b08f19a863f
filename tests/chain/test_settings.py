"""settings/Rotate, settings/Put, settings/Delete: key epochs, versioned encrypted records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.settings.module import SettingsModule
from voxpop.chain.modules.settings.state import Epoch, Record, SettingsParams
from voxpop.client.lists import verify_list
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke
from voxpop.crypto import settings as fmt
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import open_for_account, seal_envelope

OWNER, AGENT, AGENT2, STRANGER = key(11), key(12), key(13), key(14)
OA, AA, A2A, SA = (k.public_key.address for k in (OWNER, AGENT, AGENT2, STRANGER))
Message = tuple[str, dict[str, Any]]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(
        tmp_path / "state", [(k, 1_000_000_000) for k in (OWNER, AGENT, AGENT2, STRANGER)]
    )
    yield c
    c.app.store.close()


# --- helpers (shared with test_settings_stateful.py) ------------------------------------------


def publish(chain: Chain, who: PrivateKey, version: int = 1) -> None:
    """Publish `who`'s derived directory keys of `version`."""
    keys = derive_encryption_keys(who.seed, version)
    msg = (
        "directory/Publish",
        {
            "owner": who.public_key.address,
            "version": version,
            "x25519": keys.x25519_public,
            "secp256k1": keys.secp256k1_public,
        },
    )
    ok(chain, who, [msg])


def new_keys(epoch: int, naming_key: bytes | None = None) -> fmt.SettingsKeys:
    return fmt.SettingsKeys(epoch, fmt.new_key(), naming_key or fmt.new_key())


def wrap_to(who: PrivateKey, keys: fmt.SettingsKeys, version: int = 1) -> tuple[bytes, bytes]:
    public = derive_encryption_keys(who.seed, version).x25519_public
    return who.public_key.address, seal_envelope(version, public, keys.wrapped())


def rotate(owner: bytes, keys: fmt.SettingsKeys, wraps: Sequence[tuple[bytes, bytes]]) -> Message:
    return "settings/Rotate", {
        "owner": owner,
        "epoch": keys.epoch,
        "wraps": [list(w) for w in wraps],
    }


def put(
    owner: bytes,
    keys: fmt.SettingsKeys,
    name: str,
    version: int,
    plaintext: bytes,
    *,
    epoch: int | None = None,
    ciphertext: bytes | None = None,
) -> Message:
    record_id = fmt.compute_record_id(keys.naming_key, name)
    epoch = keys.epoch if epoch is None else epoch
    if ciphertext is None:
        ciphertext = fmt.encrypt_record(
            keys.settings_key, owner, record_id, epoch, version, plaintext
        )
    return "settings/Put", {
        "owner": owner,
        "record_id": record_id,
        "version": version,
        "epoch": epoch,
        "ciphertext": ciphertext,
    }


def delete(owner: bytes, keys: fmt.SettingsKeys, name: str) -> Message:
    return "settings/Delete", {
        "owner": owner,
        "record_id": fmt.compute_record_id(keys.naming_key, name),
    }


def as_agent(agent: PrivateKey, msgs: Sequence[Message]) -> Message:
    return msg_authz_exec(agent.public_key.address, list(msgs))


def grant_writes(chain: Chain, owner: PrivateKey, agent: PrivateKey) -> None:
    ok(
        chain,
        owner,
        [msg_authz_grant(owner.public_key.address, agent.public_key.address, t) for t in WRITES],
    )


def revoke_writes(chain: Chain, owner: PrivateKey, agent: PrivateKey) -> None:
    ok(
        chain,
        owner,
        [msg_authz_revoke(owner.public_key.address, agent.public_key.address, t) for t in WRITES],
    )


WRITES = ("settings/Put", "settings/Delete")


def ok(chain: Chain, signer: PrivateKey, msgs: Sequence[Message], gas: int = 200_000) -> None:
    res = chain.deliver(chain.tx(signer, msgs, gas_limit=gas))
    assert res.code == 0, res.log


def settings_state(chain: Chain) -> dict[bytes, bytes]:
    return {k: v for k, v in chain.snapshot().items() if k.startswith(b"settings/")}


def fails(chain: Chain, signer: PrivateKey, msgs: Sequence[Message], gas: int = 200_000) -> int:
    """The code the tx fails with (at check_tx, or in its block); settings state is unchanged."""
    before = settings_state(chain)
    tx = chain.tx(signer, msgs, gas_limit=gas)
    res = chain.check(tx)
    code = res.code
    if code == 0:
        code = chain.deliver(tx).code
    else:
        chain.sequences[signer.public_key.address] -= 1
        chain.block([])
    assert code != 0
    assert settings_state(chain) == before
    return code


def epoch_of(chain: Chain, owner: bytes) -> Epoch | None:
    raw = chain.query("/settings/epoch", owner)
    return Epoch.from_value(decode_canonical(raw)) if raw else None


def record_of(chain: Chain, owner: bytes, record_id: bytes) -> Record | None:
    raw = chain.query("/settings/record", owner + record_id)
    return Record.from_value(decode_canonical(raw)) if raw else None


def wrap_of(chain: Chain, owner: bytes, epoch: int, recipient: bytes) -> bytes:
    return chain.query("/settings/wrap", owner + epoch.to_bytes(4, "big") + recipient)


def read(chain: Chain, reader: PrivateKey, owner: bytes, naming_key: bytes, name: str) -> bytes:
    """What `reader` decrypts from the record `name`, with the wrap of the record's epoch
    addressed to it (raises SealedBoxError if there is none it can open)."""
    record_id = fmt.compute_record_id(naming_key, name)
    record = record_of(chain, owner, record_id)
    assert record is not None
    wrap = wrap_of(chain, owner, record.epoch, reader.public_key.address)
    keys = fmt.unwrap_keys(record.epoch, open_for_account(reader.seed, wrap))
    return fmt.decrypt_record(
        keys.settings_key, owner, record_id, record.epoch, record.version, record.ciphertext
    )


def setup_epoch1(chain: Chain, *agents: PrivateKey) -> fmt.SettingsKeys:
    """The owner and `agents` publish keys; the owner starts epoch 1 wrapped to all of them."""
    for who in (OWNER, *agents):
        if not chain.query("/directory/keys", who.public_key.address):
            publish(chain, who)
    keys = new_keys(1)
    ok(chain, OWNER, [rotate(OA, keys, [wrap_to(w, keys) for w in (OWNER, *agents)])])
    return keys


# --- rotate -----------------------------------------------------------------------------------


def test_rotate_first_epoch(chain: Chain) -> None:
    keys = setup_epoch1(chain, AGENT)
    epoch = epoch_of(chain, OA)
    assert epoch is not None
    assert (epoch.epoch, epoch.recipients) == (1, tuple(sorted((OA, AA))))
    assert (epoch.height, epoch.time) == (chain.app.last_height, chain.time)
    for who in (OWNER, AGENT):
        opened = open_for_account(who.seed, wrap_of(chain, OA, 1, who.public_key.address))
        assert fmt.unwrap_keys(1, opened) == keys
    assert wrap_of(chain, OA, 1, SA) == b""


def test_rotation_keeps_the_naming_key_and_old_wraps(chain: Chain) -> None:
    keys1 = setup_epoch1(chain, AGENT)
    keys2 = new_keys(2, keys1.naming_key)
    ok(chain, OWNER, [rotate(OA, keys2, [wrap_to(OWNER, keys2)])])
    epoch = epoch_of(chain, OA)
    assert epoch is not None and (epoch.epoch, epoch.recipients) == (2, (OA,))
    assert wrap_of(chain, OA, 1, AA) != b""  # records of epoch 1 stay readable to its holders
    assert wrap_of(chain, OA, 2, AA) == b""


def test_invalid_rotate_wrong_epoch(chain: Chain) -> None:
    publish(chain, OWNER)
    for epoch in (2, 0 + 3):
        keys = new_keys(epoch)
        code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys)])])
        assert code == errors.SettingsEpochMismatchError.code
    keys = setup_epoch1(chain)
    again = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys)])])
    assert again == errors.SettingsEpochMismatchError.code


def test_invalid_rotate_by_non_owner(chain: Chain) -> None:
    publish(chain, OWNER)
    keys = new_keys(1)
    code = fails(chain, STRANGER, [rotate(OA, keys, [wrap_to(OWNER, keys)])])
    assert code == errors.UnauthorizedError.code


def test_invalid_rotate_through_authz(chain: Chain) -> None:
    """Rotation is the owner's: it can be neither granted nor run through authz/Exec."""
    keys1 = setup_epoch1(chain, AGENT)
    code = fails(chain, OWNER, [msg_authz_grant(OA, AA, "settings/Rotate")])
    assert code == errors.NotDelegableError.code
    grant_writes(chain, OWNER, AGENT)
    keys2 = new_keys(2, keys1.naming_key)
    rotation = rotate(OA, keys2, [wrap_to(OWNER, keys2), wrap_to(AGENT, keys2)])
    code = fails(chain, AGENT, [as_agent(AGENT, [rotation])])
    assert code == errors.NotDelegableError.code


def test_invalid_rotate_without_the_owner(chain: Chain) -> None:
    publish(chain, OWNER)
    publish(chain, AGENT)
    keys = new_keys(1)
    code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(AGENT, keys)])])
    assert code == errors.SettingsOwnerNotRecipientError.code


def test_invalid_rotate_duplicate_recipient(chain: Chain) -> None:
    publish(chain, OWNER)
    keys = new_keys(1)
    code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys), wrap_to(OWNER, keys)])])
    assert code == errors.SettingsDuplicateRecipientError.code


def test_invalid_rotate_too_many_wraps(chain: Chain) -> None:
    publish(chain, OWNER)
    keys = new_keys(1)
    others = [(bytes([i]) * 20, wrap_to(OWNER, keys)[1]) for i in range(1, 17)]
    code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys), *others])])
    assert code == errors.InvalidMessageError.code


def test_invalid_rotate_to_unpublished_or_stale_keys(chain: Chain) -> None:
    publish(chain, OWNER)
    keys = new_keys(1)
    code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys), wrap_to(AGENT, keys)])])
    assert code == errors.NoPublishedKeysError.code
    publish(chain, AGENT, 1)
    publish(chain, AGENT, 2)
    stale = wrap_to(AGENT, keys, version=1)  # sealed to a key the agent has rotated away from
    code = fails(chain, OWNER, [rotate(OA, keys, [wrap_to(OWNER, keys), stale])])
    assert code == errors.KeyVersionMismatchError.code


def test_invalid_rotate_malformed_wrap(chain: Chain) -> None:
    publish(chain, OWNER)
    keys = new_keys(1)
    recipient, sealed = wrap_to(OWNER, keys)
    for bad in (b"\x02" + sealed[1:], sealed[:-1], b""):
        code = fails(chain, OWNER, [rotate(OA, keys, [(recipient, bad)])])
        assert code in (errors.InvalidSettingsCiphertextError.code, errors.InvalidMessageError.code)


# --- put and delete ---------------------------------------------------------------------------


def test_put_and_read_back(chain: Chain) -> None:
    keys = setup_epoch1(chain, AGENT)
    ok(chain, OWNER, [put(OA, keys, "location", 1, b"Lisbon")])
    record_id = fmt.compute_record_id(keys.naming_key, "location")
    record = record_of(chain, OA, record_id)
    assert record is not None and (record.version, record.epoch) == (1, 1)
    assert b"Lisbon" not in record.ciphertext
    for reader in (OWNER, AGENT):
        assert read(chain, reader, OA, keys.naming_key, "location") == b"Lisbon"
    ok(chain, OWNER, [put(OA, keys, "location", 2, b"Porto")])
    assert read(chain, AGENT, OA, keys.naming_key, "location") == b"Porto"


def test_invalid_put_wrong_version(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    assert fails(chain, OWNER, [put(OA, keys, "location", 2, b"x")]) == (
        errors.SettingsVersionConflictError.code
    )
    ok(chain, OWNER, [put(OA, keys, "location", 1, b"x")])
    for version in (1, 3):
        code = fails(chain, OWNER, [put(OA, keys, "location", version, b"y")])
        assert code == errors.SettingsVersionConflictError.code


def test_invalid_put_stale_epoch(chain: Chain) -> None:
    keys1 = setup_epoch1(chain)
    keys2 = new_keys(2, keys1.naming_key)
    ok(chain, OWNER, [rotate(OA, keys2, [wrap_to(OWNER, keys2)])])
    assert fails(chain, OWNER, [put(OA, keys1, "location", 1, b"x")]) == (
        errors.SettingsStaleEpochError.code
    )
    assert fails(chain, OWNER, [put(OA, keys2, "location", 1, b"x", epoch=3)]) == (
        errors.SettingsStaleEpochError.code
    )


def test_invalid_put_before_any_key(chain: Chain) -> None:
    keys = new_keys(1)
    code = fails(chain, OWNER, [put(OA, keys, "location", 1, b"x")])
    assert code == errors.SettingsNoKeyError.code


def test_invalid_put_oversize_ciphertext(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    limit = SettingsParams().max_record_bytes
    fits = b"v" * (limit - fmt.OVERHEAD)
    ok(chain, OWNER, [put(OA, keys, "skill/a/values", 1, fits)], gas=1_000_000)
    code = fails(chain, OWNER, [put(OA, keys, "skill/a/values", 2, fits + b"v")], gas=1_000_000)
    assert code == errors.SettingsRecordTooLargeError.code
    beyond_format = b"\x01" + b"v" * 24_576
    code = fails(chain, OWNER, [put(OA, keys, "skill/a/values", 2, b"", ciphertext=beyond_format)])
    assert code == errors.InvalidMessageError.code


def test_invalid_put_malformed_ciphertext(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    good = put(OA, keys, "location", 1, b"x")[1]["ciphertext"]
    for bad in (b"\x02" + good[1:], good[: fmt.OVERHEAD - 1], b""):
        code = fails(chain, OWNER, [put(OA, keys, "location", 1, b"", ciphertext=bad)])
        assert code == errors.InvalidSettingsCiphertextError.code


def test_delete(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    ok(
        chain,
        OWNER,
        [put(OA, keys, "location", 1, b"x"), put(OA, keys, "device/ab/settings", 1, b"y")],
    )
    ok(chain, OWNER, [delete(OA, keys, "location")])
    assert record_of(chain, OA, fmt.compute_record_id(keys.naming_key, "location")) is None
    # Written again, a record starts over at version 1
    ok(chain, OWNER, [put(OA, keys, "location", 1, b"z")])
    assert read(chain, OWNER, OA, keys.naming_key, "location") == b"z"


def test_invalid_delete_unknown_record(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    code = fails(chain, OWNER, [delete(OA, keys, "location")])
    assert code == errors.SettingsRecordNotFoundError.code


def test_invalid_write_by_another_account(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    assert fails(chain, STRANGER, [put(OA, keys, "location", 1, b"x")]) == (
        errors.UnauthorizedError.code
    )
    # Without a grant, an agent's Exec is refused too
    code = fails(chain, AGENT, [as_agent(AGENT, [put(OA, keys, "location", 1, b"x")])])
    assert code == errors.NoAuthorizationError.code


def test_too_many_records(tmp_path: Path) -> None:
    state = default_app_state([(OWNER.public_key.address, 10**9)])
    state["settings"] = SettingsModule().default_genesis()
    state["settings"]["params"] = {"max_record_bytes": 1_024, "max_records_per_owner": 2}
    chain = Chain.start(tmp_path / "small", app_state=state)
    keys = setup_epoch1(chain)
    ok(chain, OWNER, [put(OA, keys, "a", 1, b"1"), put(OA, keys, "b", 1, b"2")])
    code = fails(chain, OWNER, [put(OA, keys, "c", 1, b"3")])
    assert code == errors.TooManySettingsRecordsError.code
    ok(chain, OWNER, [put(OA, keys, "a", 2, b"1")])  # rewriting one held is fine
    chain.app.store.close()


# --- agents -----------------------------------------------------------------------------------


def test_agent_writes_under_authz_and_stops_when_revoked(chain: Chain) -> None:
    keys = setup_epoch1(chain, AGENT)
    grant_writes(chain, OWNER, AGENT)
    ok(chain, AGENT, [as_agent(AGENT, [put(OA, keys, "skill/s.a/values", 1, b"units=metric")])])
    assert read(chain, OWNER, OA, keys.naming_key, "skill/s.a/values") == b"units=metric"
    ok(chain, AGENT, [as_agent(AGENT, [delete(OA, keys, "skill/s.a/values")])])
    revoke_writes(chain, OWNER, AGENT)
    code = fails(chain, AGENT, [as_agent(AGENT, [put(OA, keys, "skill/s.a/values", 1, b"x")])])
    assert code == errors.NoAuthorizationError.code


def test_recipient_dropped_at_rotation_cannot_read_later_writes(chain: Chain) -> None:
    keys1 = setup_epoch1(chain, AGENT, AGENT2)
    ok(chain, OWNER, [put(OA, keys1, "location", 1, b"old place")])
    keys2 = new_keys(2, keys1.naming_key)
    ok(chain, OWNER, [rotate(OA, keys2, [wrap_to(OWNER, keys2), wrap_to(AGENT2, keys2)])])
    ok(chain, OWNER, [put(OA, keys2, "location", 2, b"new place")])
    assert read(chain, AGENT2, OA, keys2.naming_key, "location") == b"new place"
    # The dropped agent has no wrap of epoch 2, and its epoch-1 key opens nothing new
    assert wrap_of(chain, OA, 2, AA) == b""
    record_id = fmt.compute_record_id(keys1.naming_key, "location")
    record = record_of(chain, OA, record_id)
    assert record is not None
    with pytest.raises(fmt.SettingsCiphertextError):
        fmt.decrypt_record(keys1.settings_key, OA, record_id, 2, 2, record.ciphertext)


# --- queries and genesis ----------------------------------------------------------------------


def test_list_by_owner_is_proven_complete(chain: Chain) -> None:
    keys = setup_epoch1(chain)
    names = ["location", "device/01/settings", "skill/x.y/meta"]
    ok(chain, OWNER, [put(OA, keys, n, 1, n.encode()) for n in names])
    res = chain.app.query(RequestQuery("/settings/by_owner", OA, prove=True))
    assert res.code == 0, res.log
    items = verify_list(
        chain.app.last_app_hash, "/settings/by_owner", OA, res.key, res.value, res.proof
    )
    assert sorted(i.id for i in items) == sorted(
        fmt.compute_record_id(keys.naming_key, n) for n in names
    )


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/settings/record", bytes(20)),
        ("/settings/record", bytes(53)),
        ("/settings/epoch", bytes(19)),
        ("/settings/wrap", bytes(43)),
    ],
)
def test_invalid_query_data(chain: Chain, path: str, data: bytes) -> None:
    res = chain.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


def test_genesis_export_and_import(chain: Chain, tmp_path: Path) -> None:
    keys1 = setup_epoch1(chain, AGENT)
    ok(chain, OWNER, [put(OA, keys1, "location", 1, b"here")])
    keys2 = new_keys(2, keys1.naming_key)
    ok(chain, OWNER, [rotate(OA, keys2, [wrap_to(OWNER, keys2)]), put(OA, keys2, "a", 1, b"b")])
    exported = SettingsModule().export_genesis(chain.app.committed)
    assert (len(exported["epochs"]), len(exported["wraps"]), len(exported["records"])) == (1, 3, 2)
    state = default_app_state([(OA, 10**9)])
    state["settings"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    assert settings_state(again) == {
        k: v for k, v in settings_state(chain).items() if k != b"settings/params"
    } | {k: v for k, v in settings_state(again).items() if k == b"settings/params"}
    assert read(again, OWNER, OA, keys1.naming_key, "location") == b"here"
    again.app.store.close()


@pytest.mark.parametrize(
    "change",
    [
        lambda g: g["records"][0].update(epoch=3),  # beyond the owner's epoch
        lambda g: g["wraps"].pop(0),  # the current epoch not wrapped to a recipient
        lambda g: g["epochs"][0].update(recipients=[]),
        lambda g: g["records"][0].update(ciphertext="02" + "00" * 60),
        lambda g: g["records"].append(dict(g["records"][0])),  # duplicate
        lambda g: g["params"].update(max_record_bytes=10**6),
    ],
)
def test_invalid_genesis(chain: Chain, tmp_path: Path, change: Any) -> None:
    setup_epoch1(chain)
    keys = new_keys(1)
    exported = SettingsModule().export_genesis(chain.app.committed)
    exported["records"] = [
        {
            "owner": exported["epochs"][0]["owner"],
            "record_id": fmt.compute_record_id(keys.naming_key, "x").hex(),
            "version": 1,
            "epoch": 1,
            "ciphertext": fmt.encrypt_record(keys.settings_key, OA, bytes(32), 1, 1, b"x").hex(),
        }
    ]
    change(exported)
    state = default_app_state([(OA, 10**9)])
    state["settings"] = exported
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "bad", app_state=state)
