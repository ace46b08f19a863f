"""The agent's local store: one SQLite file in the agent home, every value encrypted.

Values are sealed with XChaCha20-Poly1305 under a key derived from the agent key, with the row's
namespace and key as associated data, so a row cannot be moved to another name. Row names are
themselves HMACs (the file shows neither which tokens, settings or uploads it holds nor their
names); a row's key is kept inside its sealed value so `items(ns)` can list a namespace.

Secrets devices present (access and refresh tokens) are kept only as `token_key(token)`
(sha256): a copy of the file lets no one act as a device.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from voxpop.agent.errors import StoreError
from voxpop.crypto.keys import PrivateKey

STORE_FILE = "agent.db"
_KEY_DOMAIN = b"voxpop/agent-store/v1\x00"
_NAME_DOMAIN = b"voxpop/agent-store/name/v1\x00"
_VERSION = 1
_NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


def derive_store_keys(agent_key: PrivateKey) -> tuple[bytes, bytes]:
    """(encryption key, naming key) of the local store, from the agent key's seed."""
    enc = hashlib.blake2b(agent_key.seed, key=_KEY_DOMAIN[:64], digest_size=32, person=b"enc")
    name = hashlib.blake2b(agent_key.seed, key=_NAME_DOMAIN[:64], digest_size=32, person=b"name")
    return enc.digest(), name.digest()


def token_key(token: str) -> str:
    """What the store keeps for a bearer token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class LocalStore:
    """Namespaced, encrypted key-value rows. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, enc_key: bytes, name_key: bytes) -> None:
        if len(enc_key) != 32 or len(name_key) != 32:
            raise StoreError("store keys are 32 bytes")
        self.path = Path(path)
        self._enc_key = enc_key
        self._name_key = name_key
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rows (ns BLOB, name BLOB, value BLOB,"
                " PRIMARY KEY (ns, name)) WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the agent store {self.path}: {exc}") from None
        if self.path.exists():
            self.path.chmod(0o600)

    @classmethod
    def open(cls, home: Path, agent_key: PrivateKey) -> LocalStore:
        enc, name = derive_store_keys(agent_key)
        return cls(Path(home) / STORE_FILE, enc, name)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- rows ---

    def get(self, ns: str, key: str) -> bytes | None:
        ns_id, name = self._names(ns, key)
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM rows WHERE ns = ? AND name = ?", (ns_id, name)
            ).fetchone()
        if row is None:
            return None
        stored_key, value = self._open(ns, row[0])
        # Verify the row is the one asked for (an HMAC collision is not a thing; a swapped file is)
        if stored_key != key:
            raise StoreError("the agent store row does not match its name")
        return value

    def put(self, ns: str, key: str, value: bytes) -> None:
        ns_id, name = self._names(ns, key)
        sealed = self._seal(ns, key, value)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO rows (ns, name, value) VALUES (?, ?, ?)",
                (ns_id, name, sealed),
            )

    def delete(self, ns: str, key: str) -> bool:
        """Remove a row; whether one was there."""
        ns_id, name = self._names(ns, key)
        with self._lock:
            cur = self._db.execute("DELETE FROM rows WHERE ns = ? AND name = ?", (ns_id, name))
        return cur.rowcount > 0

    def items(self, ns: str) -> list[tuple[str, bytes]]:
        """Every (key, value) of a namespace, sorted by key."""
        ns_id = self._ns_id(ns)
        with self._lock:
            rows = self._db.execute("SELECT value FROM rows WHERE ns = ?", (ns_id,)).fetchall()
        return sorted(self._open(ns, r[0]) for r in rows)

    # --- JSON helpers ---

    def get_json(self, ns: str, key: str) -> Any:
        raw = self.get(ns, key)
        return None if raw is None else json.loads(raw)

    def put_json(self, ns: str, key: str, value: Any) -> None:
        self.put(ns, key, json.dumps(value, sort_keys=True, separators=(",", ":")).encode())

    # --- sealing ---

    def _ns_id(self, ns: str) -> bytes:
        return hmac.new(self._name_key, b"ns\x00" + ns.encode(), hashlib.sha256).digest()[:16]

    def _names(self, ns: str, key: str) -> tuple[bytes, bytes]:
        name = hmac.new(
            self._name_key, ns.encode() + b"\x00" + key.encode(), hashlib.sha256
        ).digest()
        return self._ns_id(ns), name

    def _seal(self, ns: str, key: str, value: bytes) -> bytes:
        key_bytes = key.encode()
        plain = len(key_bytes).to_bytes(4, "big") + key_bytes + value
        nonce = nacl.utils.random(_NONCE)
        aad = bytes([_VERSION]) + ns.encode() + b"\x00"
        sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, aad, nonce, self._enc_key)
        return bytes([_VERSION]) + nonce + sealed

    def _open(self, ns: str, blob: bytes) -> tuple[str, bytes]:
        # Verify the row is in a format this version reads
        if not blob or blob[0] != _VERSION:
            raise StoreError("an agent store row has an unknown format")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        aad = bytes([_VERSION]) + ns.encode() + b"\x00"
        try:
            plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, aad, nonce, self._enc_key
            )
        except nacl.exceptions.CryptoError:
            raise StoreError("an agent store row does not open with this agent key") from None
        size = int.from_bytes(plain[:4], "big")
        return plain[4 : 4 + size].decode(), plain[4 + size :]
