"""Device tokens: random bearer tokens, kept only as their sha256 in the local store.

A login is an access token and a refresh token. Logins carry `expiration` (seconds the access
token lives) because mycroft-core refreshes before every call when a login lacks it. An access
token's life slides forward while the device uses it (ovos-backend-client never refreshes and
keeps its first token: an active device is never cut off; an idle, stolen token runs out).
Refreshing (GET /auth/token with the refresh token) issues a new login; the old refresh token
keeps working for a short grace, so two refreshes that race do not unpair the device.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voxpop.agent.auth import DeviceSession
from voxpop.agent.config import TokenLifetimes
from voxpop.agent.store import LocalStore, token_key

TOKENS_NS = "tokens"
ACCESS = "access"
REFRESH = "refresh"
REFRESH_GRACE_SECONDS = 60
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class Login:
    uuid: str
    access_token: str
    refresh_token: str
    expiration: int  # seconds the access token lives from now

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiration": self.expiration,
        }


class TokenBook:
    """Issues, checks, refreshes and revokes device tokens."""

    def __init__(
        self,
        store: LocalStore,
        lifetimes: TokenLifetimes,
        clock: Callable[[], float],
        device_lookup: Callable[[str], DeviceSession | None],
    ) -> None:
        self.store = store
        self.lifetimes = lifetimes
        self.clock = clock
        self._device = device_lookup

    def issue(self, uuid: str) -> Login:
        """A new login for the device `uuid`."""
        now = int(self.clock())
        access = secrets.token_urlsafe(TOKEN_BYTES)
        refresh = secrets.token_urlsafe(TOKEN_BYTES)
        self._put(access, uuid, ACCESS, now + self.lifetimes.access_ttl)
        self._put(refresh, uuid, REFRESH, now + self.lifetimes.refresh_ttl)
        return Login(uuid, access, refresh, self.lifetimes.access_ttl)

    def session_for_access(self, token: str) -> DeviceSession | None:
        """The device a live access token belongs to (None: unknown, expired, revoked), sliding
        its expiry forward when it is past half its life."""
        entry = self._get(token)
        now = int(self.clock())
        # Verify the token is an access token that has not run out
        if entry is None or entry["kind"] != ACCESS or entry["expires"] <= now:
            return None
        session = self._device(entry["uuid"])
        # Verify its device is still paired (a removed device's tokens die with it)
        if session is None:
            return None
        if entry["expires"] - now < self.lifetimes.access_ttl // 2:
            self._put(token, entry["uuid"], ACCESS, now + self.lifetimes.access_ttl)
        return session

    def refresh(self, token: str, device: str | None = None) -> Login | None:
        """A new login for a live refresh token (None: unknown, expired, revoked, or of another
        device than `device`, the uuid the request's Device header names)."""
        entry = self._get(token)
        now = int(self.clock())
        # Verify it is a refresh token that has not run out, of a device still paired
        if entry is None or entry["kind"] != REFRESH or entry["expires"] <= now:
            return None
        if device and device != entry["uuid"]:
            return None
        if self._device(entry["uuid"]) is None:
            return None
        login = self.issue(entry["uuid"])
        grace = min(entry["expires"], now + REFRESH_GRACE_SECONDS)
        self._put(token, entry["uuid"], REFRESH, grace)
        return login

    def revoke_device(self, uuid: str) -> int:
        """Forget every token of `uuid`; how many there were."""
        gone = 0
        for key, _raw in self.store.items(TOKENS_NS):
            entry = self.store.get_json(TOKENS_NS, key)
            if entry is not None and entry["uuid"] == uuid:
                self.store.delete(TOKENS_NS, key)
                gone += 1
        return gone

    def prune(self) -> int:
        """Drop tokens that ran out."""
        now = int(self.clock())
        gone = 0
        for key, _raw in self.store.items(TOKENS_NS):
            entry = self.store.get_json(TOKENS_NS, key)
            if entry is not None and entry["expires"] <= now:
                self.store.delete(TOKENS_NS, key)
                gone += 1
        return gone

    def _put(self, token: str, uuid: str, kind: str, expires: int) -> None:
        self.store.put_json(
            TOKENS_NS, token_key(token), {"uuid": uuid, "kind": kind, "expires": expires}
        )

    def _get(self, token: str) -> dict[str, Any] | None:
        # Verify the token has a sane size before hashing (a header is at most a few KB anyway)
        if not token or len(token) > 256:
            return None
        entry: dict[str, Any] | None = self.store.get_json(TOKENS_NS, token_key(token))
        return entry
