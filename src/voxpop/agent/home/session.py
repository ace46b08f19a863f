"""The home's sessions: server-side, in memory, behind a random cookie id.

Every visitor of the home gets a session on its first page (an anonymous one: a CSRF token and
nothing else). Unlocking it with the owner's passphrase puts the owner key, decrypted from the
keyring, into that session only, in this process's memory; it never reaches a page, a cookie or a
log. The key is dropped when the owner locks, when the session is idle for `ttl` seconds, and when
the agent stops.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from voxpop.crypto.keys import PrivateKey

COOKIE_NAME = "voxpop_home"
MAX_SESSIONS = 256  # one owner's browsers; the oldest goes first beyond this
ANONYMOUS_TTL = 12 * 3600  # a session with no key in it (only its CSRF token)


@dataclass(slots=True)
class Session:
    sid: str
    csrf: str
    last_used: float
    owner_key: PrivateKey | None = field(default=None, repr=False)
    unlocked_at: float | None = None

    @property
    def unlocked(self) -> bool:
        return self.owner_key is not None


class SessionBook:
    """The sessions of one home (thread-safe: sync routes run in a thread pool)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock())
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session `sid` (its idle time restarts), or None. An unlocked session idle
        past `ttl` is locked (its key dropped); any session idle past ANONYMOUS_TTL is gone."""
        if not sid:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            idle = now - session.last_used
            if idle > max(self.ttl, ANONYMOUS_TTL):
                del self._sessions[sid]
                return None
            if session.unlocked and idle > self.ttl:
                session.owner_key = None
                session.unlocked_at = None
            session.last_used = now
            self._sessions.move_to_end(sid)
            return session

    def unlock(self, session: Session, key: PrivateKey) -> None:
        with self._lock:
            session.owner_key = key
            session.unlocked_at = self.clock()

    def lock(self, session: Session) -> None:
        with self._lock:
            session.owner_key = None
            session.unlocked_at = None

    def lock_all(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.owner_key = None
                session.unlocked_at = None


class UnlockLimiter:
    """At most `attempts` failed unlocks per `window` seconds (for the whole home: there is one
    owner, and a guesser may change browsers). Argon2id already makes each guess slow."""

    def __init__(
        self, attempts: int = 5, window: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: list[float] = []
        self._lock = threading.Lock()

    def wait_seconds(self) -> int:
        """0 when an attempt may be made now, else how long until one may."""
        now = self.clock()
        with self._lock:
            self._failures = [t for t in self._failures if now - t < self.window]
            if len(self._failures) < self.attempts:
                return 0
            return max(1, int(self._failures[0] + self.window - now) + 1)

    def failed(self) -> None:
        with self._lock:
            self._failures.append(self.clock())

    def succeeded(self) -> None:
        with self._lock:
            self._failures.clear()
