"""`voxpop agent authorize|revoke|grants`: what the owner lets its agent do, in one tx each.

The agent acts for the owner only under authz grants (each message names the owner as its
signer, wrapped in authz/Exec), with the three kinds that move the owner's uvox capped per day,
and its fees paid from a fee allowance capped per day (client/agent_grants.py; docs/keys.md).
Revoking takes everything back in one tx and stops the agent at once.

`agent_app` is the `voxpop agent` group: the agent role's own commands (`voxpop agent start`, ...)
join it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.errors import ChainError
from voxpop.chain.module import Msg
from voxpop.chain.modules.authz.messages import MsgGrant
from voxpop.cli.connect import client_errors, light_client, trusted_keys
from voxpop.cli.keyring import KeyringBackendChoice, open_keyring, read_passphrase, resolve_address
from voxpop.cli.options import BroadcastModeChoice, TxOptions, with_options
from voxpop.cli.output import OutputFormat, emit, fail, format_uvox, kv_table, rows_table
from voxpop.cli.signing import Signer, broadcast_msgs, parse_amount_text, parse_fee
from voxpop.client import DEFAULT_SEND_GAS, VoxClient
from voxpop.client.agent_grants import (
    DEFAULT_CAP_PER_DAY,
    DEFAULT_FEE_CAP_PER_DAY,
    AgentCaps,
    AgentGrants,
    authorize_msgs,
    read_agent_grants,
    revoke_msgs,
)
from voxpop.crypto import CryptoError, encode_address

OWNER_KEY_ENV = "VOXPOP_OWNER_KEY"
GAS_PER_MSG = 15_000  # a grant or revoke costs about 6_000 gas: room to spare

agent_app = typer.Typer(
    no_args_is_help=True,
    help="Your agent: authorize it to act for you within daily caps, revoke it, see its grants.",
)

AgentArgument: Any = typer.Argument(
    ..., metavar="AGENT", help="the agent's account: vox1 address or key name"
)
KeyOption: Any = typer.Option(
    "owner",
    "--key",
    envvar=OWNER_KEY_ENV,
    help=f"the owner's keyring key (else ${OWNER_KEY_ENV}, else 'owner')",
)
GasOption: Any = typer.Option(
    None, "--gas", min=1, help="gas limit (default: enough for the tx's messages)"
)


@dataclass(frozen=True, slots=True)
class AgentReadOptions:
    """What reading an owner's grants takes: the node, whom to trust, the keyring."""

    node: str
    trust: list[str] | None
    trust_height: int | None
    trust_hash: str | None
    home: Path | None
    keyring_backend: KeyringBackendChoice
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class AgentTxOptions:
    """What an owner's tx about its agent takes (--gas is its own: sized by default)."""

    fee: str | None
    memo: str
    fee_granter: str | None
    mode: BroadcastModeChoice
    node: str
    trust: list[str] | None
    trust_height: int | None
    trust_hash: str | None
    home: Path | None
    keyring_backend: KeyringBackendChoice
    passphrase_file: Path | None
    output: OutputFormat


@contextmanager
def verified_client(opts: AgentReadOptions | AgentTxOptions) -> Iterator[VoxClient]:
    """A client that checks answers against the trusted header (--trust-*, else the genesis of
    --home); its errors are reported with their codes."""
    fmt = opts.output
    keys = trusted_keys(opts.trust, opts.home, fmt)
    light = light_client(opts.trust_height, opts.trust_hash, opts.home, fmt)
    with client_errors(fmt), VoxClient(opts.node, trusted_validator_keys=keys, light=light) as c:
        yield c


def load_owner(key: str, opts: AgentTxOptions) -> Signer:
    keyring = open_keyring(opts.home, opts.keyring_backend)
    try:
        address = keyring.show(key).address
        passphrase = read_passphrase(opts.keyring_backend, opts.passphrase_file, opts.output)
        private = keyring.load_private_key(key, passphrase)
    except CryptoError as exc:
        fail(exc.code, exc.message, opts.output)
    return Signer(key, address, private)


def send(
    signer: Signer,
    msgs: Sequence[Msg],
    opts: AgentTxOptions,
    gas: int | None,
    extra: dict[str, Any],
    rows: dict[str, str],
) -> None:
    """Sign `msgs` in one tx with the owner's key and broadcast it (cli/signing.py's one path)."""
    fee = parse_fee(opts.fee, opts.output)
    tx_opts = TxOptions(
        from_key=signer.name,
        fee=opts.fee,
        gas=gas if gas is not None else max(DEFAULT_SEND_GAS, GAS_PER_MSG * len(msgs)),
        memo=opts.memo,
        fee_granter=opts.fee_granter,
        mode=opts.mode,
        node=opts.node,
        home=opts.home,
        keyring_backend=opts.keyring_backend,
        passphrase_file=opts.passphrase_file,
        output=opts.output,
    )
    broadcast_msgs(signer, msgs, tx_opts, fee=fee, extra=extra, rows=rows)


@agent_app.command("authorize")
@with_options(AgentTxOptions)
def authorize(
    agent: str = AgentArgument,
    cap_per_day: str | None = typer.Option(
        None,
        "--cap-per-day",
        help="uvox (or e.g. 10vox) each of channels/Open, channels/TopUp and skills/Settle may "
        f"move per day (default: {DEFAULT_CAP_PER_DAY} uvox)",
    ),
    fee_cap_per_day: str | None = typer.Option(
        None,
        "--fee-cap-per-day",
        help=f"uvox of the agent's fees you pay per day (default: {DEFAULT_FEE_CAP_PER_DAY} uvox)",
    ),
    expiration: int = typer.Option(
        0, "--expiration", min=0, help="block time (unix seconds) it all ends; 0: never"
    ),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: AgentTxOptions,
) -> None:
    """Let AGENT act for you (pairing, settings uploads, inbox, channels, skill royalties) within
    daily caps, paying its fees; again: replaces the caps."""
    fmt = opts.output
    agent_address = resolve_address(agent, opts.home, opts.keyring_backend, fmt)
    cap = DEFAULT_CAP_PER_DAY
    if cap_per_day is not None:
        cap = parse_amount_text(cap_per_day, "--cap-per-day", fmt)
    fee_cap = DEFAULT_FEE_CAP_PER_DAY
    if fee_cap_per_day is not None:
        fee_cap = parse_amount_text(fee_cap_per_day, "--fee-cap-per-day", fmt)
    caps = AgentCaps(cap, fee_cap, expiration)
    signer = load_owner(key, opts)
    # Verify the messages as the chain will (e.g. self_grant) before anything is sent
    try:
        msgs = authorize_msgs(signer.raw_address, agent_address, caps)
    except ChainError as exc:
        fail(exc.name, exc.message, fmt)
    granted = [m.msg_type for m in msgs if isinstance(m, MsgGrant)]
    agent_text = encode_address(agent_address)
    extra: dict[str, Any] = {
        "owner": signer.address,
        "agent": agent_text,
        "granted": granted,
        "cap_per_day": caps.cap_per_day,
        "fee_cap_per_day": caps.fee_cap_per_day,
        "expiration": caps.expiration,
    }
    rows = {
        "agent": agent_text,
        "granted": ", ".join(granted),
        "cap per day": f"{format_uvox(caps.cap_per_day)} each for channels and skills",
        "fee cap per day": format_uvox(caps.fee_cap_per_day),
        "expiration": str(caps.expiration or "never"),
    }
    send(signer, msgs, opts, gas, extra, rows)


@agent_app.command("revoke")
@with_options(AgentTxOptions)
def revoke(
    agent: str = AgentArgument,
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: AgentTxOptions,
) -> None:
    """Take back every grant and the fee allowance you gave AGENT, in one tx: it stops at once.

    Rotate the settings key next (`voxpop settings rotate`) so it cannot read what you write
    from now on."""
    fmt = opts.output
    agent_address = resolve_address(agent, opts.home, opts.keyring_backend, fmt)
    signer = load_owner(key, opts)
    with verified_client(opts) as client:
        held = read_agent_grants(client, signer.raw_address, agent_address, prove=True)
    # Verify there is something to take back (revoking nothing fails on chain)
    if held.is_empty:
        fail("no_authorization", f"{agent} holds no grant and no fee allowance of yours", fmt)
    msgs = revoke_msgs(signer.raw_address, agent_address, held.grants, held.allowance is not None)
    revoked = sorted(held.grants)
    agent_text = encode_address(agent_address)
    extra: dict[str, Any] = {
        "owner": signer.address,
        "agent": agent_text,
        "revoked": revoked,
        "allowance_revoked": held.allowance is not None,
    }
    rows = {"agent": agent_text, "revoked": ", ".join(revoked) or "(no grants)"}
    send(signer, msgs, opts, gas, extra, rows)


def grants_data(held: AgentGrants) -> dict[str, Any]:
    allowance = held.allowance
    return {
        "owner": encode_address(held.owner),
        "agent": encode_address(held.agent),
        "grants": [
            {
                "msg_type": t,
                **g.limits.to_value(),
                "expiration": g.expiration,
                "uses_left": g.uses_left,
            }
            for t, g in sorted(held.grants.items())
        ],
        "fee_allowance": None
        if allowance is None
        else {
            **allowance.limits.to_value(),
            "expiration": allowance.expiration,
            "allowed_msgs": list(allowance.allowed_msgs),
        },
        "height": held.height,
        "verified": held.verified,
    }


def _cap_text(value: dict[str, Any]) -> str:
    if not value["period_seconds"]:
        return "none"
    per = "day" if value["period_seconds"] == 86_400 else f"{value['period_seconds']} s"
    # The chain starts a new window lazily, at the next spend: say which window was counted
    spent = f"{value['period_spent']} spent in the {per} from block time {value['period_start']}"
    return f"{value['period_limit']} uvox / {per} ({spent})"


def render_grants(data: dict[str, Any]) -> None:
    allowance = data["fee_allowance"]
    kv_table(
        {
            "owner": data["owner"],
            "agent": data["agent"],
            "fee allowance": "none" if allowance is None else _cap_text(allowance),
            "height": str(data["height"]),
            "proof": "verified: the list is complete" if data["verified"] else "NOT verified",
        }
    )
    rows_table(
        [
            {
                "msg_type": g["msg_type"],
                "daily cap": _cap_text(g),
                "expiration": str(g["expiration"] or "never"),
            }
            for g in data["grants"]
        ],
        ["msg_type", "daily cap", "expiration"],
    )


@agent_app.command("grants")
@with_options(AgentReadOptions)
def grants(
    agent: str = AgentArgument,
    key: str = typer.Option(
        "owner",
        "--key",
        envvar=OWNER_KEY_ENV,
        help=f"the owner: keyring key or vox1 address (else ${OWNER_KEY_ENV}, else 'owner')",
    ),
    *,
    opts: AgentReadOptions,
) -> None:
    """What you have granted AGENT, proven complete against a trusted header."""
    fmt = opts.output
    agent_address = resolve_address(agent, opts.home, opts.keyring_backend, fmt)
    owner = resolve_address(key, opts.home, opts.keyring_backend, fmt)
    with verified_client(opts) as client:
        held = read_agent_grants(client, owner, agent_address, prove=True)
    emit(grants_data(held), fmt, render_grants)


__all__ = ["agent_app"]
# The agent role's own commands (init, start, status) join this group
from voxpop.cli import agent_oauth as _agent_oauth  # noqa: E402, F401
from voxpop.cli import agent_run as _agent_run  # noqa: E402, F401
