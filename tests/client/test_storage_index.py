"""The owner's local name index: sealed at rest (no name or digest readable in the file), only
this account's key opens it, writes land atomically, lookups by id, prefix and name."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxpop.client.storage import IndexEntry, NameIndex, NameIndexError
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([7]) * 32)
OTHER = PrivateKey(bytes([8]) * 32)


def entry(oid: str, name: str, created: int = 1) -> IndexEntry:
    return IndexEntry(oid, name, 11, created, 4, 6, 10, 1)


def test_add_get_find_remove(tmp_path: Path) -> None:
    index = NameIndex(tmp_path, OWNER)
    assert index.entries() == []
    a, b = entry("aa" * 32, "kitchen.wav", 2), entry("ab" * 32, "notes.txt", 1)
    index.add(a)
    index.add(b)
    assert index.entries() == [b, a]  # oldest first
    assert NameIndex(tmp_path, OWNER).get("AA" * 32) == a  # reopened; ids case-insensitive
    assert index.find("kitchen.wav") == [a]
    assert index.find("aaaaaaaa") == [a]
    assert index.find("aaaa") == []  # too short to be a prefix
    assert sorted(e.name for e in index.find("aaaaaaaa"[:7] + "a")) == ["kitchen.wav"]
    assert index.remove("aa" * 32) and not index.remove("aa" * 32)
    assert index.entries() == [b]


def test_sealed_at_rest(tmp_path: Path) -> None:
    index = NameIndex(tmp_path, OWNER)
    index.add(entry("cd" * 32, "canary-secret-name.wav"))
    raw = index.path.read_bytes()
    assert b"canary-secret-name" not in raw and b"cdcdcdcd" not in raw
    assert oct(index.path.stat().st_mode & 0o777) == "0o600"


def test_invalid_other_account_cannot_open(tmp_path: Path) -> None:
    index = NameIndex(tmp_path, OWNER)
    index.add(entry("cd" * 32, "x"))
    other = NameIndex(tmp_path, OTHER)
    other.path = index.path  # the same file presented to another account
    with pytest.raises(NameIndexError):
        other.entries()


def test_invalid_tampered_file(tmp_path: Path) -> None:
    index = NameIndex(tmp_path, OWNER)
    index.add(entry("cd" * 32, "x"))
    raw = bytearray(index.path.read_bytes())
    raw[-1] ^= 1
    index.path.write_bytes(bytes(raw))
    with pytest.raises(NameIndexError):
        index.entries()
