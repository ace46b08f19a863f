"""The settings format: the vectors of docs/protocol/settings.md, recomputed; bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.crypto import settings as fmt
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.errors import InvalidKey
from voxpop.crypto.sealed import envelope_version, open_for_account

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol" / "settings.md"


def vectors() -> dict[str, str]:
    block = DOC.read_text().split("## Test vectors", 1)[1].split("```")[1]
    return dict(re.findall(r"^(\w+) = (\S+)$", block, re.MULTILINE))


V = vectors()


def h(name: str) -> bytes:
    return bytes.fromhex(V[name])


def test_record_vector() -> None:
    record_id = fmt.compute_record_id(h("naming_key"), V["name"])
    assert record_id == h("record_id")
    epoch, version = int(V["epoch"]), int(V["version"])
    assert fmt.compute_aad(h("owner"), record_id, epoch, version) == h("aad")
    ciphertext = fmt.encrypt_record(
        h("settings_key"), h("owner"), record_id, epoch, version, h("plaintext"), nonce=h("nonce")
    )
    assert ciphertext == h("ciphertext")
    assert len(ciphertext) == len(h("plaintext")) + fmt.OVERHEAD
    opened = fmt.decrypt_record(
        h("settings_key"), h("owner"), record_id, epoch, version, ciphertext
    )
    assert opened == h("plaintext") == b'{"city":"Lisbon"}'


def test_blob_vector() -> None:
    blob = fmt.seal_blob(
        h("settings_key"), h("owner"), h("device_id"), 1, h("blob_plaintext"), nonce=h("blob_nonce")
    )
    assert blob == h("blob")
    assert fmt.blob_epoch(blob) == 1
    keys = {1: h("settings_key")}
    assert fmt.open_blob(keys.__getitem__, h("owner"), h("device_id"), blob) == h("blob_plaintext")


def test_wrap_vector() -> None:
    recipient = derive_encryption_keys(h("recipient_seed"), 1)
    assert recipient.x25519_public == h("recipient_x25519")
    wrap = h("wrap")
    assert len(wrap) == 121 and envelope_version(wrap) == 1
    keys = fmt.unwrap_keys(1, open_for_account(h("recipient_seed"), wrap))
    assert (keys.settings_key, keys.naming_key) == (h("settings_key"), h("naming_key"))


@pytest.mark.parametrize(
    "change",
    ["owner", "record_id", "epoch", "version", "key", "tamper", "format"],
)
def test_moved_or_altered_ciphertext_does_not_decrypt(change: str) -> None:
    owner, record_id, epoch, version, key = h("owner"), h("record_id"), 1, 1, h("settings_key")
    ciphertext = h("ciphertext")
    if change == "owner":
        owner = bytes(20)
    elif change == "record_id":
        record_id = fmt.compute_record_id(h("naming_key"), "skill/x.y/values")
    elif change == "epoch":
        epoch = 2
    elif change == "version":
        version = 2
    elif change == "key":
        key = fmt.new_key()
    elif change == "tamper":
        ciphertext = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
    else:
        ciphertext = b"\x02" + ciphertext[1:]
    with pytest.raises(fmt.SettingsCiphertextError):
        fmt.decrypt_record(key, owner, record_id, epoch, version, ciphertext)


def test_a_blob_is_not_a_record() -> None:
    """Version 0 is the blob's: its inner ciphertext does not pass as a record's version 1."""
    inner = h("blob")[fmt.EPOCH_SIZE :]
    with pytest.raises(fmt.SettingsCiphertextError):
        fmt.decrypt_record(h("settings_key"), h("owner"), h("device_id"), 1, 1, inner)


@pytest.mark.parametrize("blob", [b"", bytes(4) + h("ciphertext"), h("blob")[:44]])
def test_invalid_blob(blob: bytes) -> None:
    with pytest.raises(fmt.SettingsCiphertextError):
        fmt.blob_epoch(blob)


def test_invalid_keys_and_ranges() -> None:
    with pytest.raises(InvalidKey):
        fmt.compute_record_id(b"short", "location")
    with pytest.raises(InvalidKey):
        fmt.encrypt_record(bytes(31), h("owner"), h("record_id"), 1, 1, b"x")
    with pytest.raises(ValueError):
        fmt.encrypt_record(h("settings_key"), h("owner"), h("record_id"), 1 << 32, 1, b"x")
    with pytest.raises(ValueError):
        fmt.seal_blob(h("settings_key"), h("owner"), h("device_id"), 0, b"x")
    with pytest.raises(fmt.SettingsCiphertextError):
        fmt.unwrap_keys(1, bytes(63))


@given(
    plaintext=st.binary(max_size=512),
    epoch=st.integers(1, fmt.MAX_EPOCH),
    version=st.integers(1, fmt.MAX_VERSION),
    name=st.text(max_size=40),
)
def test_round_trip(plaintext: bytes, epoch: int, version: int, name: str) -> None:
    keys = fmt.SettingsKeys(epoch, fmt.new_key(), fmt.new_key())
    record_id = fmt.compute_record_id(keys.naming_key, name)
    owner = bytes(range(20))
    sealed = fmt.encrypt_record(keys.settings_key, owner, record_id, epoch, version, plaintext)
    assert len(sealed) == len(plaintext) + fmt.OVERHEAD
    assert fmt.decrypt_record(keys.settings_key, owner, record_id, epoch, version, sealed) == (
        plaintext
    )
    assert "SettingsKeys(epoch=" in repr(keys) and keys.settings_key.hex() not in repr(keys)
