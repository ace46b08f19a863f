"""Pairing as the agent runs it.

1. A device asks for a code (`GET /device/code?state=`): the agent picks 6 characters of Selene's
   alphabet (letters and digits that cannot be misheard, so the device can spell them out), a
   fresh salt, and publishes `devices/RequestPairing` keyed by `pairing_id(salt, code)` for the
   owner. The code itself never leaves the agent and the device.
2. The owner, told the code, claims it: `voxpop device claim CODE`.
3. The device polls `/device/activate`: while the request is unclaimed the answer is an empty 404;
   once the chain holds a device with that id, owned by this owner, the device gets its login.

A device keeps one code for hours while the chain's request expires in minutes
(`pairing_ttl_seconds`): when the request is gone unclaimed, the agent publishes a new one for the
same code under a new salt, so the code the device speaks stays good until `tokens.pairing_ttl`.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voxpop.agent.errors import AgentError, ChainUnavailableError
from voxpop.agent.store import token_key
from voxpop.client.errors import VoxClientError
from voxpop.crypto.pairing import new_salt, pairing_id

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent
    from voxpop.chain.modules.devices.state import Device, Pairing

log = logging.getLogger(__name__)
PAIRINGS_NS = "pairings"
# Selene's code alphabet: no letters or digits that sound or look alike (B/D/E/G/P/T/V/Z...).
SELENE_CODE_ALPHABET = "ACEFHJKLMNPRTUVWXY3479"
CODE_LENGTH = 6
RENEW_AFTER_SECONDS = 15  # the least time between two republished requests of one code
MAX_STATE_LENGTH = 128
# Codes waiting for the owner at once: half the chain's default per-owner limit (16), so one
# agent flooded with /device/code leaves room for the owner's other agents
MAX_PENDING_CODES = 8


class PairingError(AgentError):
    code = "pairing_error"


def new_spoken_code() -> str:
    return "".join(secrets.choice(SELENE_CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class CodeGrant:
    code: str
    token: str
    expiration: int  # seconds the code stays good
    state: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "token": self.token,
            "expiration": self.expiration,
            "state": self.state,
        }


def device_blob_info(report: dict[str, Any]) -> bytes:
    """What a device's sealed blob holds (client/devices.py DeviceInfo's JSON)."""
    versions = {
        short: str(report[k])
        for k, short in (
            ("coreVersion", "core"),
            ("enclosureVersion", "enclosure"),
            ("platform_build", "build"),
        )
        if report.get(k)
    }
    doc = {
        "name": str(report.get("name") or "voice assistant")[:64],
        "platform": str(report.get("platform") or "")[:64],
        "versions": versions,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def blob_name(plaintext: bytes) -> str | None:
    """The name in a device blob's JSON (None: not one)."""
    try:
        doc = json.loads(plaintext)
    except ValueError:
        return None
    name = doc.get("name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) and name else None


class PairingBook:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.Lock()

    # --- the chain's records ---

    def chain_device(self, device_id: bytes) -> Device | None:
        """The device's record, proven, from the first node that answers."""
        return self.agent.chain.call(lambda c: self.chain_device_on(c, device_id))

    def chain_device_on(self, client: Any, device_id: bytes) -> Device | None:
        from voxpop.chain.encoding import decode_state
        from voxpop.chain.modules.devices.state import Device

        result = client.query("/devices/device", device_id, prove=True)
        return Device.from_value(decode_state(result.value)) if result.value else None

    def chain_pairing(self, pid: bytes) -> Pairing | None:
        from voxpop.chain.encoding import decode_state
        from voxpop.chain.modules.devices.state import Pairing

        result = self.agent.chain.call(lambda c: c.query("/devices/pairing", pid, prove=True))
        return Pairing.from_value(decode_state(result.value)) if result.value else None

    # --- the flow ---

    def start(self, state: str, report: dict[str, Any] | None = None) -> CodeGrant:
        """A new code for the device that called with `state`, its request published.
        Raises PairingError, ChainUnavailableError, ChainRejectedError."""
        # Verify the state is a short opaque string (devices send a uuid4)
        if not state or len(state) > MAX_STATE_LENGTH:
            raise PairingError("state must be 1 to 128 characters", code="invalid_state")
        now = int(self.agent.clock())
        with self._lock:
            # A device asking again (same state) gives up its previous code
            live = self._live_entries(now, drop_state=state)
            # Verify the owner's pending requests stay bounded: each is a tx the owner pays for
            if len(live) >= MAX_PENDING_CODES:
                raise PairingError(
                    f"{MAX_PENDING_CODES} devices are waiting to be claimed already: claim "
                    "them or wait until their codes run out",
                    code="too_many_pairings",
                )
        code = new_spoken_code()
        token = secrets.token_hex(32)
        entry = {
            "state": state,
            "code": code,
            "expires": now + self.agent.config.tokens.pairing_ttl,
            "report": report or {},
            "pairing_id": "",
            "published_at": 0,
        }
        self._publish(entry)
        self.agent.store.put_json(PAIRINGS_NS, token_key(token), entry)
        return CodeGrant(code, token, self.agent.config.tokens.pairing_ttl, state)

    def activate(self, state: str, token: str, report: dict[str, Any]) -> dict[str, Any] | None:
        """The login of a device whose code the owner claimed; None while it is pending (or
        unknown, or expired: the device asks for a new code when its own clock says so)."""
        # Verify the token is a live pairing of this state
        if not 0 < len(token) <= 256:
            return None
        key = token_key(token)
        entry = self.agent.store.get_json(PAIRINGS_NS, key)
        now = int(self.agent.clock())
        if entry is None or entry["state"] != state:
            return None
        if entry["expires"] <= now:
            self.agent.store.delete(PAIRINGS_NS, key)
            return None
        with self._lock:
            try:
                return self._activate(key, entry, report, now)
            except (AgentError, VoxClientError) as exc:
                # Still pending as far as the device knows: any answer but the login must not
                # look like one (ovos-backend-client saves a JSON body as its identity)
                log.warning("activation of a pairing failed for now: %r", exc)
                return None

    def _activate(
        self, key: str, entry: dict[str, Any], report: dict[str, Any], now: int
    ) -> dict[str, Any] | None:
        pid = bytes.fromhex(entry["pairing_id"])
        try:
            device = self.chain_device(pid)
            # Verify the owner claimed this very request for itself
            if device is None or not device.is_active or device.owner != self.agent.owner:
                if now - entry["published_at"] >= RENEW_AFTER_SECONDS:
                    self._renew_if_gone(key, entry, pid)
                return None
        except ChainUnavailableError:
            return None
        merged = {**entry["report"], **{k: v for k, v in report.items() if v}}
        # The owner may have named it as it claimed: the name in the sealed blob is the owner's
        named = self._name_in_blob(pid, device.blob)
        if named:
            merged["name"] = named
        uuid = self.agent.devices.add(pid, merged)
        login = self.agent.tokens.issue(uuid)
        self.agent.store.delete(PAIRINGS_NS, key)
        return login.to_json()

    def _name_in_blob(self, device_id: bytes, blob: bytes) -> str | None:
        from voxpop.client.errors import VoxClientError
        from voxpop.crypto import CryptoError

        chain = self.agent.chain
        try:
            plain = chain.call(lambda c: chain.vault(c).open_blob(device_id, blob))
        except (AgentError, VoxClientError, CryptoError):
            return None
        return blob_name(plain)

    def _renew_if_gone(self, key: str, entry: dict[str, Any], pid: bytes) -> None:
        """Publish the code again under a new salt when its request expired unclaimed: gone from
        the chain, or past its expiry (a quiet chain prunes at its next block, which this
        request itself makes)."""
        pending = self.chain_pairing(pid)
        if pending is not None and not pending.is_expired(int(self.agent.clock())):
            return
        self._publish(entry)
        self.agent.store.put_json(PAIRINGS_NS, key, entry)

    def _publish(self, entry: dict[str, Any]) -> None:
        """devices/RequestPairing for `entry`'s code under a new salt (sets its pairing_id)."""
        from voxpop.chain.modules.devices.messages import MsgRequestPairing

        chain = self.agent.chain
        salt = new_salt()
        pid = pairing_id(salt, entry["code"])
        info = device_blob_info(entry["report"])

        def build(client: Any) -> list[Any]:
            blob = chain.vault(client).seal_blob(pid, info)
            return [MsgRequestPairing(chain.owner, chain.agent, pid, salt, blob)]

        chain.send_with(build)
        entry["pairing_id"] = pid.hex()
        entry["published_at"] = int(self.agent.clock())

    def _live_entries(self, now: int, drop_state: str | None = None) -> list[dict[str, Any]]:
        """The pending codes still live; expired ones, and `drop_state`'s, are deleted."""
        live = []
        for key, raw in self.agent.store.items(PAIRINGS_NS):
            entry = json.loads(raw)
            if entry["expires"] <= now or entry["state"] == drop_state:
                self.agent.store.delete(PAIRINGS_NS, key)
            else:
                live.append(entry)
        return live

    def prune(self) -> int:
        now = int(self.agent.clock())
        gone = 0
        for key, raw in self.agent.store.items(PAIRINGS_NS):
            if json.loads(raw)["expires"] <= now:
                self.agent.store.delete(PAIRINGS_NS, key)
                gone += 1
        return gone
