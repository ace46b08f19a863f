"""Devices: an owner's voice devices, paired through requests their agent publishes. What other
modules and the agent may use of it."""

from voxpop.chain.modules.devices.state import (
    ACTIVE,
    REMOVED,
    Device,
    Pairing,
    get_device,
    get_pairing,
)

__all__ = ["ACTIVE", "REMOVED", "Device", "Pairing", "get_device", "get_pairing"]
