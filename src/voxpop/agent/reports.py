"""Version reports: what a device says it runs goes into its sealed blob on chain
(devices/Update under the owner's grant). A report made while no node answers is kept here and
marked pending; the sync sends it when a node answers again."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from voxpop.agent.errors import AgentError
from voxpop.agent.pairings import blob_name, device_blob_info

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent

log = logging.getLogger(__name__)


def record_report(agent: Agent, uuid: str, report: dict[str, str]) -> dict[str, Any] | None:
    """Keep `report` (the versions a device sent) and publish it when it changed. The record."""
    record = agent.devices.record(uuid)
    if record is None:
        return None
    versions = {**record.get("versions", {}), **{k: v for k, v in report.items() if k != "name"}}
    if versions == record.get("versions") and not record.get("chain_pending"):
        return record
    record = agent.devices.update(uuid, versions=versions, chain_pending=True)
    publish_pending(agent, uuid)
    return agent.devices.record(uuid)


def publish_pending(agent: Agent, uuid: str) -> bool:
    """Send the device's pending report; whether it went (False: kept for the next sync)."""
    from voxpop.chain.modules.devices.messages import MsgUpdateDevice

    record = agent.devices.record(uuid)
    if record is None or record["removed"] or not record.get("chain_pending"):
        return False
    device_id = bytes.fromhex(record["device_id"])
    chain = agent.chain

    def build(client: Any) -> list[Any]:
        # The name is the owner's (set at claim or renamed since): keep what the chain holds
        vault = chain.vault(client)
        current = agent.pairings.chain_device_on(client, device_id)
        name = record.get("name")
        if current is not None and current.blob:
            name = blob_name(vault.open_blob(device_id, current.blob)) or name
        info = device_blob_info({"name": name, **record.get("versions", {})})
        return [MsgUpdateDevice(chain.owner, device_id, vault.seal_blob(device_id, info))]

    try:
        chain.send_with(build)
    except AgentError as exc:
        log.info("version report of %s kept until a node answers (%s)", uuid, exc.code)
        return False
    agent.devices.update(uuid, chain_pending=False)
    return True


def publish_all_pending(agent: Agent) -> int:
    return sum(publish_pending(agent, r["uuid"]) for r in agent.devices.all())
