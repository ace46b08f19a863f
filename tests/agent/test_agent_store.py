"""The agent's local store: values sealed under a key derived from the agent key, row names
HMACed, a row bound to its namespace and name; a wrong key or a tampered row is an error, never
a wrong value."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voxpop.agent.errors import StoreError
from voxpop.agent.store import STORE_FILE, LocalStore
from voxpop.crypto.keys import PrivateKey

KEY = PrivateKey(bytes([31]) * 32)
OTHER = PrivateKey(bytes([32]) * 32)


def test_round_trip_and_listing(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path, KEY)
    store.put("oauth", "spotify", b"token-1")
    store.put("oauth", "github", b"token-2")
    store.put("other", "spotify", b"elsewhere")
    assert store.get("oauth", "spotify") == b"token-1"
    assert store.items("oauth") == [("github", b"token-2"), ("spotify", b"token-1")]
    assert store.delete("oauth", "github") and not store.delete("oauth", "github")
    assert store.get("oauth", "github") is None
    store.close()
    # Reopened with the same agent key: everything is there
    again = LocalStore.open(tmp_path, KEY)
    assert again.get("other", "spotify") == b"elsewhere"
    again.close()


def test_nothing_readable_in_the_file(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path, KEY)
    store.put("settings-cache", "device/abc/settings", b'{"secretValue": "CANARY-STORE"}')
    store.close()
    raw = (tmp_path / STORE_FILE).read_bytes()
    for needle in (b"CANARY-STORE", b"secretValue", b"settings-cache", b"device/abc"):
        assert needle not in raw
    assert (tmp_path / STORE_FILE).stat().st_mode & 0o077 == 0


def test_invalid_another_agent_key_reads_nothing(tmp_path: Path) -> None:
    LocalStore.open(tmp_path, KEY).put("ns", "k", b"v")
    other = LocalStore.open(tmp_path, OTHER)
    # Its names differ (HMACed with its own key): the row is not even found
    assert other.get("ns", "k") is None and other.items("ns") == []
    other.close()


def test_invalid_tampered_or_moved_row_is_an_error(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path, KEY)
    store.put("tokens", "a", b"first")
    store.put("tokens", "b", b"second")
    store.close()
    db = sqlite3.connect(tmp_path / STORE_FILE)
    rows = db.execute("SELECT ns, name, value FROM rows ORDER BY name").fetchall()
    (_, name_x, value_x), (_, name_y, value_y) = rows
    # Swap the two sealed values: each row now holds the other's
    db.execute("UPDATE rows SET value = ? WHERE name = ?", (value_y, name_x))
    db.execute("UPDATE rows SET value = ? WHERE name = ?", (value_x, name_y))
    db.commit()
    store = LocalStore.open(tmp_path, KEY)
    with pytest.raises(StoreError):
        store.get("tokens", "a")
    # Flip a byte of a sealed value
    flipped = bytes([value_x[0]]) + bytes([value_x[1] ^ 1]) + value_x[2:]
    db.execute("UPDATE rows SET value = ? WHERE name = ?", (flipped, name_y))
    db.commit()
    db.close()
    with pytest.raises(StoreError) as caught:
        store.get("tokens", "b")
    assert caught.value.code == "agent_store_error"
    store.close()
