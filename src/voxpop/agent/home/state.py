"""The home's state, one per agent app: sessions, the unlock limiter, where the owner key lives,
the templates. Routes reach it as `home_of(request)`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.templating import Jinja2Templates

from voxpop.agent.home.last_seen import LastSeenBook
from voxpop.agent.home.session import SessionBook, UnlockLimiter
from voxpop.crypto import CryptoError, Keyring
from voxpop.crypto.keyfile import KeyringBackend
from voxpop.crypto.keys import PrivateKey

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent


class OwnerKeyError(Exception):
    """The owner key could not be unlocked: `code` is wrong_passphrase, owner_key_missing or
    no_owner_key_here."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class OwnerKeyring:
    """Where the owner key lives on this machine (the keyring of the owner tools' --home)."""

    home: Path
    key_name: str
    backend: KeyringBackend

    @property
    def keyring(self) -> Keyring:
        return Keyring(self.home / "keyring", self.backend)

    @property
    def needs_passphrase(self) -> bool:
        return self.backend == "file"

    def unlock(self, passphrase: str, owner: bytes) -> PrivateKey:
        """The owner key, decrypted. Raises OwnerKeyError."""
        keyring = self.keyring
        if not keyring.has(self.key_name):
            raise OwnerKeyError("owner_key_missing")
        try:
            key = keyring.load_private_key(
                self.key_name, passphrase if self.needs_passphrase else None
            )
        except CryptoError:
            raise OwnerKeyError("wrong_passphrase") from None
        # Verify the key is the owner's this agent serves (a keyring may hold several)
        if key.public_key.address != owner:
            raise OwnerKeyError("owner_key_missing")
        return key


class Home:
    def __init__(
        self,
        agent: Agent,
        templates: Jinja2Templates,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = agent.config.home_settings
        self.agent = agent
        self.templates = templates
        self.sessions = SessionBook(settings.session_ttl, clock)
        self.limiter = UnlockLimiter(clock=clock)
        self.clock = clock
        self.last_seen = LastSeenBook(agent.store, clock)
        self.owner_keyring: OwnerKeyring | None = None
        if settings.owner_home is not None:
            backend: KeyringBackend = "test" if settings.owner_keyring_backend == "test" else "file"
            self.owner_keyring = OwnerKeyring(settings.owner_home, settings.owner_key, backend)

    @property
    def key_here(self) -> bool:
        """Whether the owner keeps the key on this machine (owner actions can be signed here)."""
        return self.owner_keyring is not None

    @property
    def owner_key_name(self) -> str:
        """The owner key's name in its keyring (for the commands the pages show)."""
        return self.agent.config.home_settings.owner_key

    def node_options(self) -> list[str]:
        """`--node URL`: what every command needs to reach the chain this agent follows."""
        return ["--node", self.agent.config.nodes[0]]

    def cli_options(self) -> list[str]:
        """The options an owner tool (`voxpop device|skill|settings ...`) needs besides its own:
        the node and `--key`."""
        return [*self.node_options(), "--key", self.owner_key_name]


def home_of(request: Request) -> Home:
    home: Home = request.app.state.home
    return home
