"""`voxpop devnet up`: the whole system locally, in the foreground, on the embedded defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.panel import Panel

from voxpop.cli.output import console, fail
from voxpop.crypto import KeyringError
from voxpop.node.devnet import default_devnet_home, ensure_devnet
from voxpop.node.init import home_at
from voxpop.node.solo import SoloNode, SoloNodeError

devnet_app = typer.Typer(no_args_is_help=True, help="Run everything locally with one command.")


@devnet_app.command("up")
def up(
    home: Path = typer.Option(default_devnet_home(), "--home", help="devnet home"),
    api_port: int | None = typer.Option(None, "--api-port", help="HTTP API port (default 1317)"),
) -> None:
    """Create the devnet on first run (printing the dev account's mnemonic), then run it."""
    h = home_at(home)
    try:
        with console.status("preparing the devnet home..."):
            info = ensure_devnet(h, api_port=api_port)
    except (KeyringError, OSError) as exc:
        fail("devnet_failed", str(exc))
    if info.created and info.dev_mnemonic:
        console.print(
            Panel(
                f"[bold]{info.dev_mnemonic}[/]\n\naddress {info.dev_address}\n"
                "Funded with 1,000,000 VOX. Its key is in the devnet's test keyring "
                f"({h.keyring_dir}); use --keyring-backend test --home {h.root}.",
                title="dev account (devnet only: this mnemonic is not secret)",
            )
        )
    else:
        console.print(f"resuming the devnet in {h.root}; dev account {info.dev_address}")

    def ready(node: SoloNode, url: str) -> None:
        console.print(
            f"[green]devnet up[/]: chain [bold]{node.chain_id}[/], height {node.app.last_height}\n"
            f"  API     {url}\n  docs    {url}/docs\n  stream  {url}/v1/stream\n"
            "Ctrl-C to stop; run again to resume."
        )

    from voxpop.node.run import run_solo

    try:
        asyncio.run(run_solo(h, api_port=api_port, on_ready=ready))
    except SoloNodeError as exc:
        fail(exc.code, str(exc))
    except KeyboardInterrupt:
        pass
    console.print("devnet stopped")
