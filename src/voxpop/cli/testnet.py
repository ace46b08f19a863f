"""`voxpop testnet`: N validators under CometBFT on this machine's loopback."""

from __future__ import annotations

from pathlib import Path

import typer

from voxpop.chain.genesis import UVOX_PER_VOX, default_app_state
from voxpop.cli.output import OutputFormat, OutputOption, console, emit, fail, parse_funds
from voxpop.crypto import Keyring, KeyringError, decode_address
from voxpop.node.testnet import LocalNetError, init_testnet, start_testnet, stop_testnet

testnet_app = typer.Typer(no_args_is_help=True, help="Run a local multi-validator network.")
DEV_FUNDS = 1_000_000 * UVOX_PER_VOX


@testnet_app.command("init")
def init(
    validators: int = typer.Option(4, "--validators", "-n", min=1, max=32),
    dir: Path = typer.Option(..., "--dir", help="directory for the node homes"),
    chain_id: str = typer.Option("voxpop-testnet", "--chain-id"),
    base_port: int = typer.Option(27000, "--base-port", help="node i uses base+10i .. base+10i+3"),
    timeout_commit_ms: int = typer.Option(1000, "--timeout-commit-ms", min=10),
    fund: list[str] = typer.Option([], "--fund", help="ADDRESS=UVOX at genesis (repeatable)"),
    output: OutputFormat = OutputOption,
) -> None:
    """Write N validator homes sharing one genesis. Without --fund, a `dev` key is created in
    DIR/keyring (test backend) and funded with 1,000,000 VOX."""
    balances = parse_funds(fund, output)
    mnemonic = None
    if not balances:
        try:
            new = Keyring(dir / "keyring", "test").add("dev")
        except KeyringError as exc:
            fail(exc.code, str(exc), output)
        balances, mnemonic = [(decode_address(new.info.address), DEV_FUNDS)], new.mnemonic
    try:
        net = init_testnet(
            validators,
            dir,
            app_state=default_app_state(balances),
            chain_id=chain_id,
            base_port=base_port,
            timeout_commit_ms=timeout_commit_ms,
        )
    except (LocalNetError, ValueError, OSError) as exc:
        fail("testnet_init_failed", str(exc), output)
    emit(
        {
            "dir": str(dir),
            "chain_id": chain_id,
            "nodes": [{"home": n.home, "api": n.api_url, "rpc": n.rpc_url} for n in net.nodes],
            "dev_mnemonic": mnemonic,
        },
        output,
    )


@testnet_app.command("up")
def up(
    dir: Path = typer.Option(..., "--dir"),
    output: OutputFormat = OutputOption,
) -> None:
    """Start every node of the testnet in the background."""
    try:
        with console.status("starting validators..."):
            pids = start_testnet(dir)
    except (LocalNetError, OSError) as exc:
        fail("testnet_up_failed", str(exc), output)
    emit({"dir": str(dir), "pids": pids}, output)


@testnet_app.command("down")
def down(
    dir: Path = typer.Option(..., "--dir"),
    output: OutputFormat = OutputOption,
) -> None:
    """Stop every node (SIGTERM, then SIGKILL after a grace period)."""
    try:
        with console.status("stopping validators..."):
            stop_testnet(dir)
    except (LocalNetError, OSError) as exc:
        fail("testnet_down_failed", str(exc), output)
    emit({"dir": str(dir), "stopped": True}, output)
