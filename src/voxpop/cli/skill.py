"""`voxpop skill settings get|set`: a skill's settings, for all your devices or per device.

A skill's scope (shared, the default, or device) is the owner's choice, kept as its own encrypted
record; `set --scope device --device D` switches a skill to settings per device. See
docs/operations/devices.md.
"""

from __future__ import annotations

from typing import Any

import typer

from voxpop.cli.options import with_options
from voxpop.cli.output import emit, kv_table
from voxpop.cli.owner import (
    GasOption,
    KeyOption,
    OwnerOption,
    OwnerReadOptions,
    OwnerTxOptions,
    owner_session,
    parse_assignments,
    send,
)
from voxpop.client.devices import SCOPES, OwnerDevices

skill_app = typer.Typer(no_args_is_help=True, help="Your skills' settings (encrypted on chain).")
settings_app = typer.Typer(no_args_is_help=True, help="A skill's settings: shared or per device.")
skill_app.add_typer(settings_app, name="settings")

SkillArgument: Any = typer.Argument(
    ..., metavar="SKILL", help="the skill's id, e.g. skill-weather.openvoiceos"
)
DeviceOption: Any = typer.Option(
    None, "--device", help="the device (name or id) whose values to use, for a skill per device"
)


def _device_id(flows: OwnerDevices, device: str | None) -> bytes | None:
    return None if device is None else flows.find_device(device).device_id


@settings_app.command("get")
@with_options(OwnerReadOptions)
def get(
    skill: str = SkillArgument,
    device: str | None = DeviceOption,
    key: str = KeyOption,
    owner: str | None = OwnerOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """SKILL's settings (for --device, when the skill keeps them per device), decrypted."""
    with owner_session(key, opts, owner) as (_, flows):
        device_id = _device_id(flows, device)
        scope = flows.skill_scope(skill)
        values = flows.skill_settings(skill, device_id) or {}
    data = {
        "skill": skill,
        "scope": scope,
        "device_id": device_id.hex() if device_id is not None and scope == "device" else None,
        "settings": values,
    }
    emit(data, opts.output, lambda d: kv_table(d["settings"] or {"(none)": ""}, title=skill))


@settings_app.command("set")
@with_options(OwnerTxOptions)
def set_(
    skill: str = SkillArgument,
    assignments: list[str] | None = typer.Argument(
        None, metavar="[KEY=VALUE]...", help="VALUE: JSON or text"
    ),
    device: str | None = DeviceOption,
    scope: str | None = typer.Option(
        None, "--scope", help=f"keep the skill's settings {' or '.join(SCOPES)}-wide"
    ),
    unset: list[str] | None = typer.Option(None, "--unset", help="remove this key (repeatable)"),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Set SKILL's settings (the others are kept), for all devices or for --device."""
    changes = parse_assignments(assignments or [], opts.output)
    with owner_session(key, opts) as (signer, flows):
        device_id = _device_id(flows, device)
        msgs = flows.set_skill_settings_msgs(
            skill, changes, device_id=device_id, scope=scope, unset=unset or ()
        )
        extra = {"skill": skill, "scope": scope, "set": sorted(changes)}
        rows = {"skill": skill, "set": ", ".join(sorted(changes)) or "(scope only)"}
        send(signer, msgs, opts, gas, extra=extra, rows=rows)
