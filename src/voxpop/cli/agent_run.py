"""`voxpop agent init|start|status`: the agent role's own commands, on the `voxpop agent` group.

    voxpop agent init --home DIR --owner vox1... --chain-id ID --node URL [--node URL ...]
    voxpop agent start --home DIR        serve the Selene device API (127.0.0.1:6712 by default)
    voxpop agent status --home DIR       is it serving, for whom, how many devices

docs/operations/agent.md has the whole setup (authorize, settings key, pointing a device at it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from voxpop.cli.agent import agent_app
from voxpop.cli.output import OutputFormat, OutputOption, emit, fail, rows_table
from voxpop.crypto import decode_address, encode_address, is_address

HomeOption: Any = typer.Option(..., "--home", help="the agent's home (agent.toml, keyring, store)")


@agent_app.command("init")
def init(
    home: Path = HomeOption,
    owner: str = typer.Option(..., "--owner", help="the owner's account (vox1...)"),
    chain_id: str = typer.Option(..., "--chain-id", help="the chain the owner's devices live on"),
    node: list[str] = typer.Option(
        ..., "--node", help="a node's API URL; give several so no one node is trusted or needed"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="the address devices reach it on"),
    port: int = typer.Option(6712, "--port", min=0, max=65535),
    keyring_backend: str = typer.Option(
        "file", "--keyring-backend", help="file (sealed with $VOXPOP_AGENT_PASSPHRASE) or test"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Create an agent home and its key; prints the agent's address for `voxpop agent
    authorize`."""
    from voxpop.agent import AgentError, init_agent_home

    if not is_address(owner):
        fail("invalid_address", f"{owner!r} is not an account address", output)
    try:
        config, address = init_agent_home(
            home,
            owner=decode_address(owner),
            chain_id=chain_id,
            nodes=node,
            host=host,
            port=port,
            keyring_backend=keyring_backend,
        )
    except AgentError as exc:
        fail(exc.code, str(exc), output)
    emit(
        {
            "agent": encode_address(address),
            "home": str(config.home),
            "url": config.url,
            "next": f"voxpop agent authorize {encode_address(address)} && voxpop settings rotate",
        },
        output,
    )


@agent_app.command("start")
def start(
    home: Path = HomeOption,
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning, error"),
    output: OutputFormat = OutputOption,
) -> None:
    """Serve the Selene device API for the owner's devices (blocks until interrupted)."""
    import os
    import sys

    # The process becomes the agent's lean entry point (same pid, streams and environment):
    # the CLI's own modules would stay resident for the agent's whole life otherwise
    argv = ["--home", str(home), "--log-level", log_level, "--output", output.value]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "voxpop.agent", *argv])


@agent_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """Whether the agent of HOME is serving, and what it knows (no secrets)."""
    import httpx

    from voxpop.agent import AgentError, load_config

    try:
        config = load_config(home)
    except AgentError as exc:
        fail(exc.code, str(exc), output)
    data: dict[str, Any] = {"url": config.url, "owner": encode_address(config.owner)}
    try:
        answer = httpx.get(f"{config.url}/status", timeout=3.0)
        data.update(answer.json(), serving=answer.status_code == 200)
    except (httpx.HTTPError, ValueError):
        data["serving"] = False
    emit(data, output)
    if not data["serving"]:
        raise typer.Exit(1)


@agent_app.command("devices")
def devices(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """The devices the agent of HOME serves (read from its encrypted store)."""
    from voxpop.agent import AgentError
    from voxpop.agent.agent import Agent

    try:
        agent = Agent.open(home)
    except AgentError as exc:
        fail(exc.code, str(exc), output)
    try:
        rows = [
            {
                "uuid": r["uuid"],
                "device_id": r["device_id"],
                "name": r.get("name", ""),
                "paired_at": r.get("paired_at"),
                "removed": r["removed"],
            }
            for r in agent.devices.all()
        ]
    finally:
        agent.close()
    emit({"devices": rows}, output, lambda d: rows_table(d["devices"], DEVICE_COLUMNS))


DEVICE_COLUMNS = ("name", "uuid", "paired_at", "removed")


@agent_app.command("remove-device")
def remove_device(
    uuid: str = typer.Argument(..., metavar="UUID", help="the device's uuid (`agent devices`)"),
    home: Path = HomeOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Stop serving a device at once, even with no node reachable: its tokens are dropped and it
    gets 401. `voxpop device remove` (the owner's key) removes it on chain for every agent."""
    from voxpop.agent import AgentError
    from voxpop.agent.agent import Agent

    try:
        agent = Agent.open(home)
    except AgentError as exc:
        fail(exc.code, str(exc), output)
    try:
        if agent.devices.record(uuid) is None:
            fail("device_not_found", f"this agent serves no device {uuid!r}", output)
        agent.devices.mark_removed(uuid)
        revoked = agent.tokens.revoke_device(uuid)
    finally:
        agent.close()
    emit({"uuid": uuid, "removed": True, "tokens_revoked": revoked}, output)
