"""The devices this agent serves, as it remembers them: uuid (what the device calls itself) →
the on-chain device id, and what the device last reported (name, platform, versions).

The chain is the authority on whether a device is paired: the agent's sync marks a device
removed when its on-chain record is gone or removed; a removal made through this agent takes
effect here at once.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from voxpop.agent.auth import DeviceSession
from voxpop.agent.store import LocalStore

DEVICES_NS = "devices"
VERSION_FIELDS = ("coreVersion", "enclosureVersion", "platform", "platform_build")


def uuid_for(device_id: bytes) -> str:
    """The uuid a device is known by: the first 16 bytes of its on-chain id."""
    return str(uuidlib.UUID(bytes=device_id[:16]))


class DeviceRegistry:
    def __init__(self, store: LocalStore, owner: bytes, clock: Callable[[], float]) -> None:
        self.store = store
        self.owner = owner
        self.clock = clock

    def add(self, device_id: bytes, report: dict[str, Any]) -> str:
        """Remember a device just paired; its uuid."""
        uuid = uuid_for(device_id)
        record = {
            "uuid": uuid,
            "device_id": device_id.hex(),
            "paired_at": int(self.clock()),
            "name": str(report.get("name") or "voice assistant"),
            "versions": {k: str(report[k]) for k in VERSION_FIELDS if report.get(k)},
            "removed": False,
        }
        self.store.put_json(DEVICES_NS, uuid, record)
        return uuid

    def record(self, uuid: str) -> dict[str, Any] | None:
        if len(uuid) > 64:
            return None
        found: dict[str, Any] | None = self.store.get_json(DEVICES_NS, uuid)
        return found

    def session(self, uuid: str) -> DeviceSession | None:
        """The paired (not removed) device `uuid`."""
        record = self.record(uuid)
        if record is None or record["removed"]:
            return None
        return DeviceSession(uuid, bytes.fromhex(record["device_id"]), self.owner)

    def update(self, uuid: str, **changes: Any) -> dict[str, Any] | None:
        record = self.record(uuid)
        if record is None:
            return None
        record.update(changes)
        self.store.put_json(DEVICES_NS, uuid, record)
        return record

    def mark_removed(self, uuid: str) -> None:
        self.update(uuid, removed=True)

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(value) for _key, value in self.store.items(DEVICES_NS)]
