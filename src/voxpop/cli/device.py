"""`voxpop device claim CODE|list|rename|remove`, `voxpop device settings get|set` and
`voxpop device location get|set`: the owner's devices and their settings, decrypted here.

A device's agent asks to pair it (devices/RequestPairing, under the owner's authz grant); the
device speaks a 6-character code, and the owner claims it with that code: the code is matched
against the owner's pending requests on this machine and never sent. See
docs/operations/devices.md.
"""

from __future__ import annotations

from typing import Any

import typer

from voxpop.cli.options import with_options
from voxpop.cli.output import emit, kv_table, rows_table
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
from voxpop.client.devices import DeviceView

device_app = typer.Typer(
    no_args_is_help=True, help="Your devices: pair, list, rename, remove; their settings."
)
settings_app = typer.Typer(no_args_is_help=True, help="A device's settings (encrypted on chain).")
location_app = typer.Typer(no_args_is_help=True, help="Your location (encrypted on chain).")
device_app.add_typer(settings_app, name="settings")
device_app.add_typer(location_app, name="location")

DeviceArgument: Any = typer.Argument(
    ..., metavar="DEVICE", help="the device's name, or its id (hex, or 4+ leading digits)"
)
AssignArgument: Any = typer.Argument(..., metavar="KEY=VALUE...", help="VALUE: JSON or text")
UnsetOption: Any = typer.Option(None, "--unset", help="remove this key (repeatable)")


def device_row(view: DeviceView) -> dict[str, Any]:
    info = view.info
    return {
        "device_id": view.device_id.hex(),
        "name": view.name,
        "platform": info.platform if info is not None else None,
        "versions": dict(info.versions) if info is not None else None,
        "agent": view.device.agent,
        "status": view.device.status,
        "paired_at": view.device.paired_at,
        "updated_at": view.device.updated_at,
    }


@device_app.command("claim")
@with_options(OwnerTxOptions)
def claim(
    code: str = typer.Argument(..., metavar="CODE", help="the 6 characters the device speaks"),
    name: str | None = typer.Option(None, "--name", help="name the device as you claim it"),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Claim the device that speaks CODE: its agent's pairing request becomes your device."""
    with owner_session(key, opts) as (signer, flows):
        msg, pending = flows.claim_msg(code)
        msgs = [msg]
        info = flows.pairing_info(pending)
        if name is not None:  # the claim creates the device, then the same tx renames it
            msgs.append(flows.rename_msg(pending.pairing_id, info, name))
        shown = name if name is not None else (info.name if info is not None else None)
        send(
            signer,
            msgs,
            opts,
            gas,
            extra={"device_id": pending.pairing_id.hex(), "name": shown},
            rows={"device": pending.pairing_id.hex(), "name": shown or "(unreadable)"},
        )


@device_app.command("list")
@with_options(OwnerReadOptions)
def list_devices(
    key: str = KeyOption, owner: str | None = OwnerOption, *, opts: OwnerReadOptions
) -> None:
    """Your active devices, proven complete, with their names decrypted."""
    with owner_session(key, opts, owner) as (_, flows):
        rows = [device_row(v) for v in flows.devices()]

    def render(_: Any) -> None:
        rows_table(rows, ("name", "device_id", "platform", "agent", "paired_at"), title="devices")

    emit({"devices": rows, "verified": True}, opts.output, render)


@device_app.command("rename")
@with_options(OwnerTxOptions)
def rename(
    device: str = DeviceArgument,
    name: str = typer.Argument(..., metavar="NAME", help="the new name"),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Give DEVICE a new name (sealed: the chain never sees it)."""
    with owner_session(key, opts) as (signer, flows):
        view = flows.find_device(device)
        msg = flows.rename_msg(view.device_id, view.info, name)
        extra = {"device_id": view.device_id.hex(), "name": name}
        send(
            signer, [msg], opts, gas, extra=extra, rows={"device": extra["device_id"], "name": name}
        )


@device_app.command("remove")
@with_options(OwnerTxOptions)
def remove(
    device: str = DeviceArgument,
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Remove DEVICE: its agent can no longer update it, and its id is never used again."""
    with owner_session(key, opts) as (signer, flows):
        view = flows.find_device(device)
        extra = {"device_id": view.device_id.hex(), "name": view.name}
        rows = {"removed": extra["device_id"], "name": view.name}
        send(signer, [flows.remove_msg(view)], opts, gas, extra=extra, rows=rows)


@settings_app.command("get")
@with_options(OwnerReadOptions)
def settings_get(
    device: str = DeviceArgument,
    setting: str | None = typer.Argument(None, metavar="[KEY]", help="one setting only"),
    key: str = KeyOption,
    owner: str | None = OwnerOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """DEVICE's settings, read with proofs and decrypted."""
    with owner_session(key, opts, owner) as (_, flows):
        view = flows.find_device(device)
        values = flows.device_settings(view.device_id) or {}
    shown = values if setting is None else {setting: values.get(setting)}
    emit({"device_id": view.device_id.hex(), "settings": shown}, opts.output, _render_settings)


@settings_app.command("set")
@with_options(OwnerTxOptions)
def settings_set(
    device: str = DeviceArgument,
    assignments: list[str] = AssignArgument,
    unset: list[str] | None = UnsetOption,
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Set DEVICE's settings (the others are kept): e.g. `systemUnit=metric timeFormat=full`."""
    changes = parse_assignments(assignments, opts.output)
    with owner_session(key, opts) as (signer, flows):
        view = flows.find_device(device)
        msg = flows.set_device_settings_msg(view.device_id, changes, unset or ())
        device_id = view.device_id.hex()
        extra = {"device_id": device_id, "set": sorted(changes)}
        rows = {"device": device_id, "set": ", ".join(sorted(changes))}
        send(signer, [msg], opts, gas, extra=extra, rows=rows)


@location_app.command("get")
@with_options(OwnerReadOptions)
def location_get(
    key: str = KeyOption, owner: str | None = OwnerOption, *, opts: OwnerReadOptions
) -> None:
    """Your location, read with proofs and decrypted."""
    with owner_session(key, opts, owner) as (_, flows):
        values = flows.location() or {}
    emit({"location": values}, opts.output, lambda d: kv_table(d["location"], title="location"))


@location_app.command("set")
@with_options(OwnerTxOptions)
def location_set(
    assignments: list[str] = AssignArgument,
    unset: list[str] | None = UnsetOption,
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Set your location, shared by all your devices: e.g. `city=Lisbon timezone=Europe/Lisbon
    latitude=38.72 longitude=-9.14`."""
    changes = parse_assignments(assignments, opts.output)
    with owner_session(key, opts) as (signer, flows):
        msg = flows.set_location_msg(changes, unset or ())
        extra = {"set": sorted(changes)}
        send(signer, [msg], opts, gas, extra=extra, rows={"set": ", ".join(sorted(changes))})


def _render_settings(data: dict[str, Any]) -> None:
    kv_table(data["settings"] or {"(none)": ""}, title=f"device {data['device_id'][:12]}")
