from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from voxpop.crypto import (
    DEFAULT_KDF,
    CorruptKeyFile,
    InvalidKeyName,
    InvalidMnemonic,
    KeyExists,
    KeyNotFound,
    KeyringBackend,
    PassphraseRequired,
    WeakPassphrase,
    WrongPassphrase,
    decode_address,
    validate_mnemonic,
)
from voxpop.crypto.keyfile import TEST_BACKEND_WARNING
from voxpop.crypto.keys import verify_signature

from .conftest import PASSPHRASE, MakeKeyring
from .vectors import VOX_ACCOUNTS, VOX_MNEMONIC

BACKENDS: list[KeyringBackend] = ["file", "test"]
# account 0 / index 0 of VOX_MNEMONIC
VOX_SEED, VOX_PUBLIC, VOX_ADDRESS = VOX_ACCOUNTS[0][2:]


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def save(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_new_key(make_keyring: MakeKeyring, backend: KeyringBackend) -> None:
    keyring = make_keyring(backend)
    new = keyring.add("alice", PASSPHRASE)
    assert validate_mnemonic(new.mnemonic) == new.mnemonic
    assert new.info.name == "alice"
    assert new.info.kind == "mnemonic"
    assert new.info.hd_path == "m/44'/8118'/0'/0'/0'"
    assert keyring.show("alice") == new.info
    key = keyring.load_private_key("alice", PASSPHRASE)
    assert key.public_key.raw == new.info.public_key
    assert decode_address(new.info.address) == key.public_key.address
    assert verify_signature(new.info.public_key, b"msg", key.sign(b"msg"))
    assert keyring.export("alice", PASSPHRASE).mnemonic == new.mnemonic


@pytest.mark.parametrize("backend", BACKENDS)
def test_recover_known_mnemonic(make_keyring: MakeKeyring, backend: KeyringBackend) -> None:
    keyring = make_keyring(backend)
    info = keyring.import_mnemonic("bob", VOX_MNEMONIC.upper(), PASSPHRASE)
    assert info.address == VOX_ADDRESS
    assert info.public_key.hex() == VOX_PUBLIC
    exported = keyring.export("bob", PASSPHRASE)
    assert exported.mnemonic == VOX_MNEMONIC
    assert exported.seed.hex() == VOX_SEED


def test_recover_other_account(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    account, index, seed, _, address = VOX_ACCOUNTS[1]
    new = keyring.add("carol", PASSPHRASE, mnemonic=VOX_MNEMONIC, account=account, index=index)
    assert new.info.address == address
    assert new.info.hd_path == "m/44'/8118'/3'/0'/7'"
    assert keyring.load_private_key("carol", PASSPHRASE).seed.hex() == seed


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_raw_seed(make_keyring: MakeKeyring, backend: KeyringBackend) -> None:
    keyring = make_keyring(backend)
    info = keyring.import_seed("raw", bytes.fromhex(VOX_SEED), PASSPHRASE)
    assert (info.address, info.kind, info.hd_path) == (VOX_ADDRESS, "seed", None)
    exported = keyring.export("raw", PASSPHRASE)
    assert exported.mnemonic is None
    assert exported.seed.hex() == VOX_SEED


def test_list_sorted_and_backends_separate(make_keyring: MakeKeyring) -> None:
    file_ring, test_ring = make_keyring("file"), make_keyring("test")
    assert file_ring.list() == ()
    for name in ("zed", "amy", "max"):
        file_ring.add(name, PASSPHRASE)
    test_ring.add("dev")
    assert [i.name for i in file_ring.list()] == ["amy", "max", "zed"]
    assert [i.name for i in test_ring.list()] == ["dev"]
    assert not file_ring.has("dev")


def test_delete(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("test")
    keyring.add("alice")
    keyring.delete("alice")
    assert not keyring.has("alice")
    with pytest.raises(KeyNotFound):
        keyring.show("alice")
    with pytest.raises(KeyNotFound):
        keyring.delete("alice")


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_missing_key(make_keyring: MakeKeyring, backend: KeyringBackend) -> None:
    keyring = make_keyring(backend)
    for op in (keyring.show, keyring.delete):
        with pytest.raises(KeyNotFound) as info:
            op("ghost")
        assert info.value.code == "key_not_found"
    with pytest.raises(KeyNotFound):
        keyring.export("ghost", PASSPHRASE)
    with pytest.raises(KeyNotFound):
        keyring.load_private_key("ghost", PASSPHRASE)


@pytest.mark.parametrize(
    "name", ["", "Alice", "a b", "a/b", "../x", "a.json", "é", "x" * 65, "a\n"]
)
def test_invalid_key_names(make_keyring: MakeKeyring, name: str) -> None:
    keyring = make_keyring("test")
    with pytest.raises(InvalidKeyName) as info:
        keyring.add(name)
    assert info.value.code == "invalid_key_name"
    with pytest.raises(InvalidKeyName):
        keyring.show(name)


def test_valid_key_name_edges(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("test")
    for name in ("a", "x" * 64, "node-0_backup"):
        keyring.add(name)
    assert len(keyring.list()) == 3


def test_invalid_wrong_passphrase(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    keyring.add("alice", PASSPHRASE)
    with pytest.raises(WrongPassphrase) as info:
        keyring.load_private_key("alice", PASSPHRASE + "x")
    assert info.value.code == "wrong_passphrase"
    with pytest.raises(WrongPassphrase):
        keyring.export("alice", "")


def test_invalid_missing_passphrase(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    with pytest.raises(PassphraseRequired):
        keyring.add("alice")
    keyring.add("alice", PASSPHRASE)
    with pytest.raises(PassphraseRequired):
        keyring.export("alice")


def test_invalid_weak_passphrase(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    with pytest.raises(WeakPassphrase):
        keyring.add("alice", "short")
    assert not keyring.has("alice")


def test_passphrase_unicode_normalized(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    keyring.add("alice", "caf\u00e9 au lait")  # precomposed é
    keyring.load_private_key("alice", "cafe\u0301 au lait")  # e + combining accent


def test_invalid_mnemonic_stores_nothing(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    with pytest.raises(InvalidMnemonic):
        keyring.add("alice", PASSPHRASE, mnemonic="abandon " * 24)
    assert not keyring.has("alice")


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_existing_key_not_overwritten(
    make_keyring: MakeKeyring, backend: KeyringBackend
) -> None:
    keyring = make_keyring(backend)
    keyring.add("alice", PASSPHRASE)
    before = (keyring.key_dir / "alice.json").read_bytes()
    with pytest.raises(KeyExists) as info:
        keyring.add("alice", PASSPHRASE, mnemonic=VOX_MNEMONIC)
    assert info.value.code == "key_exists"
    assert (keyring.key_dir / "alice.json").read_bytes() == before
    assert sorted(p.name for p in keyring.key_dir.iterdir()) == ["alice.json"]


def test_invalid_write_refuses_existing_file(make_keyring: MakeKeyring) -> None:
    # The last guard, for a key that appears between the check and the write.
    keyring = make_keyring("test")
    keyring.add("alice")
    target = keyring.key_dir / "alice.json"
    before = target.read_bytes()
    with pytest.raises(KeyExists):
        keyring._write_new(target, b"{}")
    assert target.read_bytes() == before
    assert sorted(p.name for p in keyring.key_dir.iterdir()) == ["alice.json"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_file_modes(make_keyring: MakeKeyring, backend: KeyringBackend) -> None:
    old_umask = os.umask(0o022)
    try:
        keyring = make_keyring(backend)
        keyring.add("alice", PASSPHRASE)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((keyring.key_dir / "alice.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(keyring.key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(keyring.directory.stat().st_mode) == 0o700


def test_file_backend_hides_the_secret(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    keyring.import_mnemonic("alice", VOX_MNEMONIC, PASSPHRASE)
    text = (keyring.key_dir / "alice.json").read_text()
    assert "abandon" not in text
    assert VOX_SEED not in text
    doc = json.loads(text)
    assert doc["kdf"]["name"] == "argon2id"
    assert doc["cipher"]["name"] == "xchacha20poly1305-ietf"
    assert len(bytes.fromhex(doc["cipher"]["nonce"])) == 24
    assert doc["address"] == VOX_ADDRESS


def test_test_backend_is_marked_plaintext(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("test")
    keyring.import_mnemonic("dev", VOX_MNEMONIC)
    doc = load(keyring.key_dir / "dev.json")
    assert doc["warning"] == TEST_BACKEND_WARNING
    assert doc["secret"] == VOX_MNEMONIC
    assert "ciphertext" not in doc


def test_fresh_salt_and_nonce_per_key(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("file")
    keyring.import_mnemonic("a", VOX_MNEMONIC, PASSPHRASE)
    keyring.import_mnemonic("b", VOX_MNEMONIC, PASSPHRASE)
    a, b = load(keyring.key_dir / "a.json"), load(keyring.key_dir / "b.json")
    assert a["kdf"]["salt"] != b["kdf"]["salt"]
    assert a["cipher"]["nonce"] != b["cipher"]["nonce"]
    assert a["ciphertext"] != b["ciphertext"]


def test_default_kdf_is_moderate() -> None:
    assert (DEFAULT_KDF.opslimit, DEFAULT_KDF.memlimit) == (3, 256 * 1024 * 1024)


# Tampering: every edit to a sealed file is refused, never silently accepted.


@pytest.fixture
def sealed(make_keyring: MakeKeyring) -> Path:
    keyring = make_keyring("file")
    keyring.import_mnemonic("alice", VOX_MNEMONIC, PASSPHRASE)
    return keyring.key_dir / "alice.json"


def open_alice(make_keyring: MakeKeyring) -> None:
    make_keyring("file").load_private_key("alice", PASSPHRASE)


def test_invalid_tampered_ciphertext(make_keyring: MakeKeyring, sealed: Path) -> None:
    doc = load(sealed)
    ct = bytearray(bytes.fromhex(doc["ciphertext"]))
    ct[0] ^= 0x01
    doc["ciphertext"] = ct.hex()
    save(sealed, doc)
    with pytest.raises(CorruptKeyFile) as info:
        open_alice(make_keyring)
    assert info.value.code == "corrupt_key_file"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "vox1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq7u89mu"),
        ("public_key", "00" * 32),
        ("hd_path", "m/44'/8118'/1'/0'/0'"),
        ("nonce", "00" * 24),
    ],
)
def test_invalid_tampered_header(
    make_keyring: MakeKeyring, sealed: Path, field: str, value: str
) -> None:
    doc = load(sealed)
    if field == "nonce":
        doc["cipher"]["nonce"] = value
    else:
        doc[field] = value
    save(sealed, doc)
    with pytest.raises(CorruptKeyFile):
        open_alice(make_keyring)


def test_invalid_tampered_salt_reads_as_wrong_passphrase(
    make_keyring: MakeKeyring, sealed: Path
) -> None:
    doc = load(sealed)
    doc["kdf"]["salt"] = "00" * 16
    save(sealed, doc)
    with pytest.raises(WrongPassphrase):
        open_alice(make_keyring)


def test_invalid_secret_moved_between_entries(make_keyring: MakeKeyring, sealed: Path) -> None:
    # Same passphrase, another key: its sealed part pasted under alice's header must not open.
    keyring = make_keyring("file")
    keyring.add("mallory", PASSPHRASE)
    mallory = load(keyring.key_dir / "mallory.json")
    doc = load(sealed)
    for field in ("kdf", "cipher", "passphrase_check", "ciphertext"):
        doc[field] = mallory[field]
    save(sealed, doc)
    with pytest.raises(CorruptKeyFile):
        open_alice(make_keyring)


def test_invalid_renamed_file(make_keyring: MakeKeyring, sealed: Path) -> None:
    sealed.rename(sealed.with_name("bob.json"))
    with pytest.raises(CorruptKeyFile):
        make_keyring("file").show("bob")


def test_invalid_test_key_in_file_keyring(make_keyring: MakeKeyring) -> None:
    test_ring = make_keyring("test")
    test_ring.add("dev")
    file_ring = make_keyring("file")
    file_ring.key_dir.mkdir()
    (test_ring.key_dir / "dev.json").rename(file_ring.key_dir / "dev.json")
    with pytest.raises(CorruptKeyFile):
        file_ring.show("dev")


def test_invalid_test_backend_secret_swapped(make_keyring: MakeKeyring) -> None:
    keyring = make_keyring("test")
    keyring.add("dev")
    path = keyring.key_dir / "dev.json"
    doc = load(path)
    doc["secret"] = VOX_MNEMONIC  # a different key's mnemonic under dev's public key
    save(path, doc)
    with pytest.raises(CorruptKeyFile):
        keyring.load_private_key("dev")


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"version": 1}', b"\xff"])
def test_invalid_garbage_file(make_keyring: MakeKeyring, content: bytes) -> None:
    keyring = make_keyring("test")
    keyring.add("dev")
    (keyring.key_dir / "dev.json").write_bytes(content)
    with pytest.raises(CorruptKeyFile):
        keyring.show("dev")
    with pytest.raises(CorruptKeyFile):
        keyring.list()


def test_invalid_huge_kdf_limits_refused(make_keyring: MakeKeyring, sealed: Path) -> None:
    doc = load(sealed)
    doc["kdf"]["memlimit"] = 1 << 40
    save(sealed, doc)
    with pytest.raises(CorruptKeyFile):
        open_alice(make_keyring)
