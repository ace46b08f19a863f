"""The owner's side of devices, settings and the inbox: the flows `voxpop device|skill|inbox|
settings` run, and that an agent or a home app can run the same way.

Every read is proven (lists proven complete) and decrypted here; every write is a message for the
owner to sign (or for an agent to wrap in authz/Exec). The chain only ever holds ciphertext:

- a pending pairing is found by the code the device speaks: the owner's pending requests are
  listed with proofs and the one whose id is `pairing_id(salt, code)` is it (the code itself
  never leaves this machine);
- a device's name, platform and versions are a JSON `DeviceInfo` sealed as the device's blob;
- settings are JSON objects in settings records (client/settings.py's vault) named
  `device/<id hex>/settings`, `location`, `skill/<skill>/scope|values` and
  `device/<id hex>/skill/<skill>/values` (a skill's values per device when its scope says so);
- an inbox message is a sealed envelope to the owner's directory key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import ChainError
from voxpop.chain.module import Msg
from voxpop.chain.modules.devices.messages import (
    MsgClaimDevice,
    MsgRemoveDevice,
    MsgUpdateDevice,
)
from voxpop.chain.modules.devices.state import Device, Pairing
from voxpop.chain.modules.inbox.messages import MsgDeleteMessages
from voxpop.chain.modules.inbox.state import InboxMessage
from voxpop.client.errors import VoxClientError
from voxpop.client.settings import SettingsKeyError, SettingsVault
from voxpop.client.sync import VoxClient
from voxpop.crypto import CryptoError
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.pairing import normalize_code, pairing_id
from voxpop.crypto.sealed import open_for_account

DEVICES_BY_OWNER = "/devices/by_owner"
PAIRINGS_BY_OWNER = "/devices/pairings_by_owner"
INBOX_BY_OWNER = "/inbox/by_owner"
GRANTS_BY_GRANTER = "/authz/grants"
SETTINGS_PUT = "settings/Put"

SCOPE_SHARED = "shared"
SCOPE_DEVICE = "device"
SCOPES = (SCOPE_SHARED, SCOPE_DEVICE)

# Gas for a tx of owner messages: the tx's bytes and the records written, with room for the
# list commitments and the ante (a 16 KB settings record: about 400,000)
_GAS_BASE = 100_000
_GAS_PER_BYTE = 30


class DeviceFlowError(VoxClientError):
    """An owner flow that cannot go on: `code` says why (pairing_not_found, device_not_found,
    ambiguous_device, invalid_settings, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def estimate_gas(msgs: Sequence[Msg]) -> int:
    """A gas limit that covers a tx of `msgs`: most of their cost is per byte (tx and writes)."""
    size = sum(len(encode(m.to_value())) for m in msgs)
    return _GAS_BASE + _GAS_PER_BYTE * size


# --- what the ciphertexts hold ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a device's blob holds, sealed: its name, platform and software versions."""

    name: str
    platform: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        doc = {"name": self.name, "platform": self.platform, "versions": dict(self.versions)}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> DeviceInfo:
        """Raises DeviceFlowError(invalid_device_info) for anything but the JSON `encode` makes."""
        try:
            doc = json.loads(raw)
            info = cls(str(doc["name"]), str(doc.get("platform", "")), doc.get("versions", {}))
        except (ValueError, KeyError, TypeError):
            raise DeviceFlowError("invalid_device_info", "the device's blob is malformed") from None
        if not isinstance(info.versions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in info.versions.items()
        ):
            raise DeviceFlowError("invalid_device_info", "the device's versions are malformed")
        return info


def encode_settings(values: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":")).encode()


def decode_settings(raw: bytes | None, what: str) -> dict[str, Any] | None:
    """A settings record's JSON object (None: never set). Raises DeviceFlowError."""
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise DeviceFlowError("invalid_settings", f"the {what} record is not JSON") from None
    if not isinstance(doc, dict):
        raise DeviceFlowError("invalid_settings", f"the {what} record is not a JSON object")
    return doc


def merge_settings(
    current: Mapping[str, Any] | None, changes: Mapping[str, Any], unset: Sequence[str] = ()
) -> dict[str, Any]:
    """`current` with `changes` applied and the keys in `unset` removed."""
    merged = {**(current or {}), **changes}
    for key in unset:
        merged.pop(key, None)
    return merged


def device_settings_name(device_id: bytes) -> str:
    return f"device/{device_id.hex()}/settings"


def skill_scope_name(skill: str) -> str:
    return f"skill/{skill}/scope"


def skill_values_name(skill: str, device_id: bytes | None = None) -> str:
    if device_id is None:
        return f"skill/{skill}/values"
    return f"device/{device_id.hex()}/skill/{skill}/values"


LOCATION_NAME = "location"


# --- what the owner sees -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingPairing:
    pairing_id: bytes
    request: Pairing


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device as its owner sees it: the record, and its info decrypted (None: unreadable)."""

    device_id: bytes
    device: Device
    info: DeviceInfo | None

    @property
    def name(self) -> str:
        return self.info.name if self.info is not None else "(unreadable)"


@dataclass(frozen=True, slots=True)
class InboxItem:
    message_id: int
    message: InboxMessage
    plaintext: bytes | None  # None: not sealed to the owner's current keys


class OwnerDevices:
    """The owner's flows over a client (`key`: the owner's account key, or for reads an agent's
    key that holds a settings wrap of this owner: pass `owner`)."""

    def __init__(self, client: VoxClient, key: PrivateKey, owner: bytes | None = None) -> None:
        self.client = client
        self.key = key
        self.owner = owner if owner is not None else key.public_key.address
        self._vault: SettingsVault | None = None

    @property
    def vault(self) -> SettingsVault:
        if self._vault is None:
            self._vault = SettingsVault(self.client, self.owner, self.key)
        return self._vault

    # --- pairing and devices ---

    def pending(self) -> list[PendingPairing]:
        """The owner's pending pairing requests, proven complete."""
        items = self.client.query_list(PAIRINGS_BY_OWNER, self.owner).items
        return [PendingPairing(i.id, _decode(Pairing, i.value, "pairing")) for i in items]

    def find_pairing(self, code: str) -> PendingPairing:
        """The pending request the device speaking `code` made. Raises DeviceFlowError."""
        # Verify the code has the shape a device speaks before looking for it
        try:
            text = normalize_code(code)
        except ValueError as exc:
            raise DeviceFlowError("invalid_pairing_code", str(exc)) from None
        for pending in self.pending():
            if pairing_id(pending.request.salt, text) == pending.pairing_id:
                return pending
        raise DeviceFlowError(
            "pairing_not_found",
            "no pending pairing request of this owner has that code (expired, claimed, or "
            "never made)",
        )

    def claim_msg(self, code: str) -> tuple[Msg, PendingPairing]:
        """devices/Claim of the request the device speaking `code` made."""
        pending = self.find_pairing(code)
        return MsgClaimDevice(self.owner, pending.pairing_id), pending

    def pairing_info(self, pending: PendingPairing) -> DeviceInfo | None:
        return self._open_info(pending.pairing_id, pending.request.blob)

    def devices(self) -> list[DeviceView]:
        """The owner's active devices, proven complete, their names decrypted."""
        items = self.client.query_list(DEVICES_BY_OWNER, self.owner).items
        views = []
        for item in items:
            device = _decode(Device, item.value, "device")
            views.append(DeviceView(item.id, device, self._open_info(item.id, device.blob)))
        return views

    def find_device(self, ref: str) -> DeviceView:
        """An active device by its name, or by its id (hex, or a unique prefix of at least 4
        digits). Raises DeviceFlowError(device_not_found | ambiguous_device)."""
        views = self.devices()
        text = ref.strip()
        by_name = [v for v in views if v.info is not None and v.info.name == text]
        prefix = text.lower()
        by_id = [v for v in views if len(prefix) >= 4 and v.device_id.hex().startswith(prefix)]
        # A name the owner gave wins over an id that happens to start with the same letters
        matches = by_name or by_id
        if not matches:
            raise DeviceFlowError("device_not_found", f"no active device of this owner is {ref!r}")
        if len(matches) > 1:
            raise DeviceFlowError(
                "ambiguous_device", f"{len(matches)} devices match {ref!r}: give more of the id"
            )
        return matches[0]

    def rename_msg(self, device_id: bytes, info: DeviceInfo | None, name: str) -> Msg:
        """devices/Update with the same info (None: unreadable) under a new name, sealed anew."""
        # Verify the name is one a person can say and read back
        if not name.strip() or len(name) > 64:
            raise DeviceFlowError("invalid_device_name", "a device name is 1 to 64 characters")
        kept = info or DeviceInfo(name)
        renamed = DeviceInfo(name.strip(), kept.platform, kept.versions)
        blob = self.vault.seal_blob(device_id, renamed.encode())
        return MsgUpdateDevice(self.owner, device_id, blob)

    def remove_msg(self, view: DeviceView) -> Msg:
        return MsgRemoveDevice(self.owner, view.device_id)

    def _open_info(self, record_id: bytes, blob: bytes) -> DeviceInfo | None:
        try:
            return DeviceInfo.decode(self.vault.open_blob(record_id, blob))
        except (CryptoError, SettingsKeyError, DeviceFlowError):  # not sealed to a key we hold
            return None

    # --- settings ---

    def read_json(self, name: str) -> dict[str, Any] | None:
        return decode_settings(self.vault.read(name), name)

    def put_json_msg(self, name: str, values: Mapping[str, Any]) -> Msg:
        return self.vault.put_msg(name, encode_settings(values))

    def device_settings(self, device_id: bytes) -> dict[str, Any] | None:
        return self.read_json(device_settings_name(device_id))

    def set_device_settings_msg(
        self, device_id: bytes, changes: Mapping[str, Any], unset: Sequence[str] = ()
    ) -> Msg:
        name = device_settings_name(device_id)
        return self.put_json_msg(name, merge_settings(self.read_json(name), changes, unset))

    def location(self) -> dict[str, Any] | None:
        return self.read_json(LOCATION_NAME)

    def set_location_msg(self, changes: Mapping[str, Any], unset: Sequence[str] = ()) -> Msg:
        merged = merge_settings(self.location(), changes, unset)
        return self.put_json_msg(LOCATION_NAME, merged)

    def skill_scope(self, skill: str) -> str:
        """shared (one set of values for all the owner's devices, the default) or device."""
        doc = self.read_json(skill_scope_name(skill))
        scope = (doc or {}).get("scope", SCOPE_SHARED)
        return scope if scope in SCOPES else SCOPE_SHARED

    def skill_settings(self, skill: str, device_id: bytes | None) -> dict[str, Any] | None:
        """The skill's values as `device_id` gets them (None: the shared ones). A skill kept per
        device falls back to the shared values until the device has its own, as agents serve
        them (a device paired later inherits them)."""
        shared = self.read_json(skill_values_name(skill))
        if device_id is None or self.skill_scope(skill) != SCOPE_DEVICE:
            return shared
        own = self.read_json(skill_values_name(skill, device_id))
        return own if own is not None else shared

    def set_skill_settings_msgs(
        self,
        skill: str,
        changes: Mapping[str, Any],
        *,
        device_id: bytes | None,
        scope: str | None = None,
        unset: Sequence[str] = (),
    ) -> list[Msg]:
        """The writes that set the skill's values (and its scope first, when changed)."""
        msgs: list[Msg] = []
        current_scope = self.skill_scope(skill)
        if scope is not None and scope != current_scope:
            # Verify the scope is one the agents understand
            if scope not in SCOPES:
                raise DeviceFlowError("invalid_scope", f"a skill's scope is one of {SCOPES}")
            msgs.append(self.put_json_msg(skill_scope_name(skill), {"scope": scope}))
            current_scope = scope
        # Verify values per device name the device they are for
        if current_scope == SCOPE_DEVICE and device_id is None:
            raise DeviceFlowError(
                "device_required", f"{skill} keeps its settings per device: name the device"
            )
        if changes or unset or not msgs:
            target = device_id if current_scope == SCOPE_DEVICE else None
            name = skill_values_name(skill, target)
            current = self.read_json(name)
            if current is None and target is not None:
                # A device's own values start from what it was served: the shared ones
                current = self.read_json(skill_values_name(skill))
            merged = merge_settings(current, changes, unset)
            msgs.append(self.put_json_msg(name, merged))
        return msgs

    def settings_agents(self) -> list[bytes]:
        """The accounts the owner still lets write its settings (its agents), from the owner's
        grants, proven complete: who a rotation wraps the new key to besides the owner."""
        items = self.client.query_list(GRANTS_BY_GRANTER, self.owner).items
        # An item's id is the grantee (20 bytes) then the message type
        agents = [i.id[:20] for i in items if i.id[20:] == SETTINGS_PUT.encode()]
        return list(dict.fromkeys(agents))

    def rotate_msg(self, recipients: Sequence[bytes]) -> Msg:
        """settings/Rotate to a new settings key wrapped to the owner and `recipients`."""
        others = [r for r in dict.fromkeys(recipients) if r != self.owner]
        return self.vault.rotate_msg([self.owner, *others])

    # --- inbox ---

    def inbox(self) -> list[InboxItem]:
        """The owner's inbox, proven complete, each message opened with the owner's key."""
        items = self.client.query_list(INBOX_BY_OWNER, self.owner).items
        out = []
        for item in items:
            message = _decode(InboxMessage, item.value, "inbox message")
            try:
                plaintext: bytes | None = open_for_account(self.key.seed, message.ciphertext)
            except CryptoError:
                plaintext = None
            out.append(InboxItem(int.from_bytes(item.id, "big"), message, plaintext))
        return out

    def delete_inbox_msg(self, ids: Sequence[int]) -> Msg:
        return MsgDeleteMessages(self.owner, tuple(ids))


def _decode(cls: Any, raw: bytes, what: str) -> Any:
    try:
        return cls.from_value(decode_state(raw))
    except (ChainError, ValueError, TypeError, KeyError):
        raise DeviceFlowError("malformed_state", f"the proven {what} is malformed") from None


__all__ = [
    "LOCATION_NAME",
    "SCOPES",
    "SCOPE_DEVICE",
    "SCOPE_SHARED",
    "DeviceFlowError",
    "DeviceInfo",
    "DeviceView",
    "InboxItem",
    "OwnerDevices",
    "PendingPairing",
    "decode_settings",
    "device_settings_name",
    "encode_settings",
    "estimate_gas",
    "merge_settings",
    "skill_scope_name",
    "skill_values_name",
]
