"""`voxpop settings rotate`: a new settings key, wrapped to you and the agents you keep.

Run it after removing an agent (revoking its grants): the new key protects what is written from
now on; what the removed agent could read before stays readable to it, since old ciphertexts stay
on chain (docs/operations/devices.md).
"""

from __future__ import annotations

from typing import Any

import typer

from voxpop.cli.keyring import resolve_address
from voxpop.cli.options import with_options
from voxpop.cli.owner import GasOption, KeyOption, OwnerTxOptions, owner_session, send
from voxpop.crypto import encode_address

settings_app = typer.Typer(no_args_is_help=True, help="Your settings key.")


@settings_app.command("rotate")
@with_options(OwnerTxOptions)
def rotate(
    to: list[str] | None = typer.Option(
        None, "--to", help="an agent to wrap the new key to (repeatable; vox1 address or key name)"
    ),
    drop: list[str] | None = typer.Option(
        None, "--drop", help="an agent not to wrap it to, though still granted (repeatable)"
    ),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Rotate to a new settings key for you and your agents: by default every account you still
    grant settings/Put (your agents), plus --to, less --drop."""
    fmt = opts.output
    given = [resolve_address(a, opts.home, opts.keyring_backend, fmt) for a in to or []]
    dropped = {resolve_address(a, opts.home, opts.keyring_backend, fmt) for a in drop or []}
    with owner_session(key, opts) as (signer, flows):
        agents = [a for a in [*flows.settings_agents(), *given] if a not in dropped]
        msg = flows.rotate_msg(agents)
        recipients = [encode_address(r) for r in dict.fromkeys([flows.owner, *agents])]
        extra: dict[str, Any] = {"recipients": recipients}
        send(signer, [msg], opts, gas, extra=extra, rows={"wrapped to": ", ".join(recipients)})
