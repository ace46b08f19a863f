"""The agent key: an account key in a keyring under the agent home (sealed with a passphrase at
rest; the unencrypted `test` backend is for devnets). It signs the agent's txs (authz/Exec of the
owner's messages), vouchers, and reads the owner's settings through its settings wrap; the local
store's key is derived from it."""

from __future__ import annotations

import os
from pathlib import Path

from voxpop.agent.config import AgentConfig
from voxpop.agent.errors import AgentKeyError
from voxpop.crypto import CryptoError, Keyring, decode_address
from voxpop.crypto.keyfile import KeyringBackend
from voxpop.crypto.keys import PrivateKey

PASSPHRASE_ENV = "VOXPOP_AGENT_PASSPHRASE"
KEYRING_DIR = "keyring"


def agent_keyring(config: AgentConfig) -> Keyring:
    backend: KeyringBackend = "test" if config.keyring_backend == "test" else "file"
    return Keyring(Path(config.home) / KEYRING_DIR, backend)


def _passphrase(config: AgentConfig, passphrase: str | None) -> str | None:
    if config.keyring_backend == "test":
        return None
    return passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)


def create_agent_key(config: AgentConfig, passphrase: str | None = None) -> bytes:
    """A new agent key in the home's keyring (kept if one exists). Returns its address.
    Raises AgentKeyError."""
    keyring = agent_keyring(config)
    try:
        if not keyring.has(config.key_name):
            keyring.add(config.key_name, _passphrase(config, passphrase))
        return decode_address(keyring.show(config.key_name).address)
    except CryptoError as exc:
        raise AgentKeyError(f"cannot create the agent key: {exc}") from None


def load_agent_key(config: AgentConfig, passphrase: str | None = None) -> PrivateKey:
    """The agent key (passphrase from the argument or $VOXPOP_AGENT_PASSPHRASE).
    Raises AgentKeyError."""
    try:
        return agent_keyring(config).load_private_key(
            config.key_name, _passphrase(config, passphrase)
        )
    except CryptoError as exc:
        raise AgentKeyError(f"cannot open the agent key {config.key_name!r}: {exc}") from None
