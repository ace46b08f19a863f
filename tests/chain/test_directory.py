"""directory/Publish and directory/Revoke: versioned encryption keys, rotation, retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.directory.module import DirectoryModule
from voxpop.chain.modules.directory.state import KeyRecord
from voxpop.crypto.address import encode_address
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey

ALICE, BOB = key(1), key(2)
P25519 = 2**255 - 19
SECP_P = 2**256 - 2**32 - 977


def keys_of(who: PrivateKey, generation: int) -> tuple[bytes, bytes]:
    k = derive_encryption_keys(who.seed, generation)
    return k.x25519_public, k.secp256k1_public


def publish(
    who: PrivateKey,
    version: int,
    *,
    x25519: Any = None,
    secp256k1: Any = None,
    owner: bytes | None = None,
) -> tuple[str, dict[str, Any]]:
    x, k = keys_of(who, version)
    return "directory/Publish", {
        "owner": who.public_key.address if owner is None else owner,
        "version": version,
        "x25519": x if x25519 is None else x25519,
        "secp256k1": k if secp256k1 is None else secp256k1,
    }


def revoke(who: PrivateKey, version: int) -> tuple[str, dict[str, Any]]:
    return "directory/Revoke", {"owner": who.public_key.address, "version": version}


def latest(chain: Chain, who: PrivateKey) -> KeyRecord | None:
    raw = chain.query("/directory/keys", who.public_key.address)
    return KeyRecord.from_value(decode_canonical(raw)) if raw else None


def at_version(chain: Chain, who: PrivateKey, version: int) -> KeyRecord | None:
    raw = chain.query("/directory/key_version", who.public_key.address + version.to_bytes(8, "big"))
    return KeyRecord.from_value(decode_canonical(raw)) if raw else None


def run(chain: Chain, who: PrivateKey, msg: tuple[str, dict[str, Any]]) -> int:
    """Deliver `msg` in a block after check_tx accepted it; return the result code."""
    tx = chain.tx(who, [msg])
    res = chain.check(tx)
    if res.code != 0:
        chain.sequences[who.public_key.address] -= 1
        return res.code
    result = chain.deliver(tx)
    assert result.code == 0, result.log
    return 0


def refused(chain: Chain, who: PrivateKey, msg: tuple[str, dict[str, Any]]) -> int:
    """check_tx's code for `msg`, checking the refusal changed no state."""
    before = chain.snapshot()
    code = run(chain, who, msg)
    assert code != 0
    chain.block([])
    after = chain.snapshot()
    assert {k: v for k, v in after.items() if k.startswith(b"directory/")} == {
        k: v for k, v in before.items() if k.startswith(b"directory/")
    }
    return code


def test_publish_first_version(chain: Chain) -> None:
    assert latest(chain, ALICE) is None
    tx = chain.tx(ALICE, [publish(ALICE, 1)])
    result = chain.deliver(tx)
    assert result.code == 0, result.log
    record = latest(chain, ALICE)
    assert record is not None
    assert (record.version, record.x25519, record.secp256k1) == (1, *keys_of(ALICE, 1))
    assert (record.height, record.time) == (chain.app.last_height, chain.time)
    assert at_version(chain, ALICE, 1) == record
    events = [e for e in result.events if e.type == "keys_published"]
    assert [(a.key, a.value) for a in events[0].attributes][1] == ("version", "1")


def test_rotation_keeps_the_previous_version(chain: Chain) -> None:
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    assert run(chain, ALICE, publish(ALICE, 2)) == 0
    current, previous = latest(chain, ALICE), at_version(chain, ALICE, 1)
    assert current is not None and previous is not None
    assert current.version == 2 and current.x25519 == keys_of(ALICE, 2)[0]
    assert previous.x25519 == keys_of(ALICE, 1)[0] != current.x25519
    assert latest(chain, BOB) is None  # one account's keys are its own


def test_rotation_may_keep_one_key(chain: Chain) -> None:
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    same_secp = keys_of(ALICE, 1)[1]
    assert run(chain, ALICE, publish(ALICE, 2, secp256k1=same_secp)) == 0
    record = latest(chain, ALICE)
    assert record is not None and record.secp256k1 == same_secp


def test_retention_drops_versions_beyond_the_window(tmp_path: Path) -> None:
    state = default_app_state([(ALICE.public_key.address, 10**9)])
    state["directory"] = {"params": {"versions_kept": 2}, "records": []}
    chain = Chain.start(tmp_path / "r", app_state=state)
    for version in (1, 2, 3, 4):
        assert run(chain, ALICE, publish(ALICE, version)) == 0
    assert at_version(chain, ALICE, 1) is None and at_version(chain, ALICE, 2) is None
    kept = [at_version(chain, ALICE, v) for v in (3, 4)]
    assert [r.version for r in kept if r is not None] == [3, 4]
    # Still provable at the height it was current
    first = chain.app.query(
        RequestQuery("/directory/key_version", ALICE.public_key.address + bytes(7) + b"\x01", 2)
    )
    assert first.code == 0 and decode_canonical(first.value)["version"] == 1
    chain.app.store.close()


def test_revoke_then_publish_continues_the_numbering(chain: Chain) -> None:
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    assert run(chain, ALICE, revoke(ALICE, 2)) == 0
    record = latest(chain, ALICE)
    assert record is not None and record.revoked and record.version == 2
    assert record.x25519 is None and record.secp256k1 is None
    assert at_version(chain, ALICE, 1) is not None  # history stays readable
    assert run(chain, ALICE, publish(ALICE, 3)) == 0
    again = latest(chain, ALICE)
    assert again is not None and not again.revoked and again.version == 3


def test_invalid_version_not_next(chain: Chain) -> None:
    assert refused(chain, ALICE, publish(ALICE, 2)) == errors.KeyVersionMismatchError.code
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    assert refused(chain, ALICE, publish(ALICE, 1)) == errors.KeyVersionMismatchError.code
    assert refused(chain, ALICE, publish(ALICE, 3)) == errors.KeyVersionMismatchError.code
    assert refused(chain, ALICE, revoke(ALICE, 1)) == errors.KeyVersionMismatchError.code
    assert latest(chain, ALICE) == at_version(chain, ALICE, 1)


@pytest.mark.parametrize("version", [0, -1, True, "1", None])
def test_invalid_version_field(chain: Chain, version: Any) -> None:
    code = refused(chain, ALICE, _with(ALICE, version=version))
    assert code == errors.InvalidMessageError.code


def _with(who: PrivateKey, **fields: Any) -> tuple[str, dict[str, Any]]:
    kind, value = publish(who, 1)
    return kind, value | fields


def test_concurrent_rotations_only_one_lands(chain: Chain) -> None:
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    first = chain.tx(ALICE, [publish(ALICE, 2)])
    second = chain.tx(ALICE, [publish(ALICE, 2, x25519=keys_of(ALICE, 7)[0])])
    results = chain.block([first, second])
    assert [r.code for r in results] == [0, errors.KeyVersionMismatchError.code]
    record = latest(chain, ALICE)
    assert record is not None and record.x25519 == keys_of(ALICE, 2)[0]


def _low_order_x25519() -> list[bytes]:
    """The points of small order on Curve25519 and their other encodings."""
    points = [
        0,
        1,
        0x00B8495F16056286FDB1329CEB8D09DA6AC49FF1FAE35616AEB8413B7C7AEBE0,
        0x57119FD0DD4E22D8868E1C58C45C44045BEF839C55B1D0B1248C50A3BC959C5F,
        P25519 - 1,
        P25519,
        P25519 + 1,
    ]
    raw = [n.to_bytes(32, "little") for n in points]
    return raw + [r[:31] + bytes([r[31] | 0x80]) for r in raw]  # top bit set


@pytest.mark.parametrize("bad", _low_order_x25519(), ids=lambda b: b.hex()[:8] + b.hex()[-2:])
def test_invalid_low_order_x25519(chain: Chain, bad: bytes) -> None:
    assert refused(chain, ALICE, _with(ALICE, x25519=bad)) == errors.InvalidEncryptionKeyError.code


def test_invalid_noncanonical_x25519(chain: Chain) -> None:
    good = keys_of(ALICE, 1)[0]
    high_bit = good[:31] + bytes([good[31] | 0x80])  # X25519 ignores the bit: the same key
    above_p = (P25519 + 2).to_bytes(32, "little")  # the point 2, written as 2 + p
    for bad in (high_bit, above_p, good[:31], good + b"\x00", b"", "00" * 32):
        code = refused(chain, ALICE, _with(ALICE, x25519=bad))
        assert code == errors.InvalidEncryptionKeyError.code, bad


def test_invalid_secp256k1(chain: Chain) -> None:
    good = keys_of(ALICE, 1)[1]
    x = int.from_bytes(good[1:], "big")
    not_on_curve = next(
        b"\x02" + n.to_bytes(32, "big")
        for n in range(5, 100)
        if pow((n**3 + 7) % SECP_P, (SECP_P - 1) // 2, SECP_P) != 1
    )
    for bad in (
        good[:32],  # short
        good + b"\x00",  # long
        b"\x04" + good[1:],  # the uncompressed prefix
        b"\x00" + good[1:],
        b"\x02" + (x + SECP_P).to_bytes(33, "big")[1:] if x + SECP_P < 2**256 else b"\x02",
        b"\x02" + SECP_P.to_bytes(32, "big"),  # x = p
        b"\x02" + bytes(32),  # x = 0: no point
        not_on_curve,
        bytes(33),
    ):
        code = refused(chain, ALICE, _with(ALICE, secp256k1=bad))
        assert code == errors.InvalidEncryptionKeyError.code, bad.hex()


def test_invalid_publish_for_another_account(chain: Chain) -> None:
    msg = publish(ALICE, 1, owner=BOB.public_key.address)
    assert refused(chain, ALICE, msg) == errors.UnauthorizedError.code


def test_invalid_revoke_without_keys(chain: Chain) -> None:
    assert refused(chain, ALICE, revoke(ALICE, 1)) == errors.NoPublishedKeysError.code
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    assert run(chain, ALICE, revoke(ALICE, 2)) == 0
    assert refused(chain, ALICE, revoke(ALICE, 3)) == errors.NoPublishedKeysError.code


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/directory/keys", b"\x01" * 19),
        ("/directory/keys", b"\x01" * 21),
        ("/directory/key_version", b"\x01" * 20),
        ("/directory/key_version", b"\x01" * 29),
    ],
)
def test_invalid_query_data(chain: Chain, path: str, data: bytes) -> None:
    res = chain.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


def test_genesis_export_and_import(chain: Chain, tmp_path: Path) -> None:
    assert run(chain, ALICE, publish(ALICE, 1)) == 0
    assert run(chain, ALICE, publish(ALICE, 2)) == 0
    assert run(chain, BOB, publish(BOB, 1)) == 0
    assert run(chain, BOB, revoke(BOB, 2)) == 0
    exported = DirectoryModule().export_genesis(chain.app.committed)
    assert len(exported["records"]) == 4
    state = default_app_state([(ALICE.public_key.address, 10**9)])
    state["directory"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    for who in (ALICE, BOB):
        assert latest(again, who) == latest(chain, who)
        for v in (1, 2):
            assert at_version(again, who, v) == at_version(chain, who, v)
    again.app.store.close()


def _genesis_record(**fields: Any) -> dict[str, Any]:
    x, k = keys_of(ALICE, 1)
    return {
        "address": _bech32(ALICE),
        "version": 1,
        "x25519": x.hex(),
        "secp256k1": k.hex(),
        "height": 0,
        "time": 0,
    } | fields


def _bech32(who: PrivateKey) -> str:
    return encode_address(who.public_key.address)


@pytest.mark.parametrize(
    "records",
    [
        [_genesis_record(x25519=bytes(32).hex())],  # small order
        [_genesis_record(x25519="zz")],
        [_genesis_record(secp256k1=None)],  # half a key set
        [_genesis_record(version=0)],
        [_genesis_record(), _genesis_record()],  # the same version twice
        [_genesis_record(version=v) for v in range(1, 11)],  # beyond versions_kept (8)
        [_genesis_record(extra=1)],
        [_genesis_record(address="vox1nope")],
    ],
)
def test_invalid_genesis(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    state = default_app_state([])
    state["directory"] = {"params": {"versions_kept": 8}, "records": records}
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)
