"""`voxpop node`: create a node home and run it (solo, or under CometBFT)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.genesis import load_genesis, validate_genesis
from voxpop.cli.output import OutputFormat, OutputOption, console, emit, fail, parse_funds
from voxpop.node.app_factory import UpgradeModuleError, load_upgrade_modules
from voxpop.node.config import ConfigError, NodeConfig
from voxpop.node.home import default_home
from voxpop.node.init import HomeExistsError, home_at, init_home
from voxpop.node.solo import SoloNode, SoloNodeError
from voxpop.node.validator_key import ValidatorKeyError, cometbft_address

node_app = typer.Typer(no_args_is_help=True, help="Run a node: a validator or full node.")


@node_app.command("init")
def init(
    home: Path = typer.Option(default_home(), "--home", help="node home directory"),
    chain_id: str = typer.Option("voxpop-devnet", "--chain-id"),
    moniker: str = typer.Option("voxpop-node", "--moniker"),
    fund: list[str] = typer.Option(
        [], "--fund", help="ADDRESS=UVOX to fund at genesis (repeatable)"
    ),
    api_port: int = typer.Option(1317, "--api-port"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing genesis"),
    output: OutputFormat = OutputOption,
) -> None:
    """Write config.toml, a validator key and a one-validator genesis.json."""
    balances = parse_funds(fund, output)
    config = NodeConfig()
    config.api.port = api_port
    try:
        genesis = init_home(
            home_at(home),
            chain_id=chain_id,
            moniker=moniker,
            balances=balances,
            config=config,
            overwrite=overwrite,
        )
    except HomeExistsError as exc:
        fail(exc.code, str(exc), output)
    except (InvalidGenesisError, ValidatorKeyError, OSError) as exc:
        fail("init_failed", str(exc), output)
    emit(
        {
            "home": str(home_at(home).root),
            "chain_id": genesis.chain_id,
            "validator_address": cometbft_address(genesis.validators[0].pub_key).hex().upper(),
            "validator_pub_key": genesis.validators[0].pub_key.hex(),
        },
        output,
    )


@node_app.command("start")
def start(
    home: Path = typer.Option(default_home(), "--home", help="node home directory"),
    solo: bool = typer.Option(False, "--solo", help="make blocks alone, without CometBFT"),
    api_host: str | None = typer.Option(None, "--api-host", help="default from config (127.0.0.1)"),
    api_port: int | None = typer.Option(None, "--api-port", help="default from config (1317)"),
) -> None:
    """Run the node in the foreground until Ctrl-C.

    Exits non-zero with one line on stderr if the genesis is invalid, or if the node cannot go on
    (a solo node whose block production fails stops rather than keep answering)."""
    h = home_at(home)
    if not h.exists():
        fail("home_missing", f"{h.root} has no genesis.json; run `voxpop node init --home {home}`")
    # Verify the genesis before starting anything: what it would break later is refused now
    try:
        validate_genesis(load_genesis(h.genesis_json))
    except InvalidGenesisError as exc:
        fail(InvalidGenesisError.name, exc.message)
    # Verify the upgrade modules of $VOXPOP_UPGRADES import, before anything starts
    try:
        load_upgrade_modules()
    except UpgradeModuleError as exc:
        fail(exc.code, str(exc))
    if not solo:
        from voxpop.node.cometbft.binary import CometBFTError
        from voxpop.node.cometbft.genesis import GenesisError
        from voxpop.node.cometbft.supervisor import run_cometbft_node

        try:
            code = run_cometbft_node(h, api_host=api_host, api_port=api_port)
        except (CometBFTError, GenesisError, ConfigError, OSError) as exc:
            fail("node_error", str(exc))
        raise typer.Exit(code)
    from voxpop.node.run import run_solo

    def ready(node: SoloNode, url: str) -> None:
        console.print(
            f"[green]solo node[/] chain [bold]{node.chain_id}[/] at height "
            f"{node.app.last_height}; API {url} (docs {url}/docs)"
        )

    try:
        asyncio.run(run_solo(h, api_host=api_host, api_port=api_port, on_ready=ready))
    except InvalidGenesisError as exc:
        fail(InvalidGenesisError.name, exc.message)
    except (SoloNodeError, ValidatorKeyError, ConfigError) as exc:
        fail(getattr(exc, "code", "node_error"), str(exc))
    except KeyboardInterrupt:
        pass


@node_app.command("show-genesis")
def show_genesis(
    home: Path = typer.Option(default_home(), "--home"),
    output: OutputFormat = OutputOption,
) -> None:
    """Print the chain id, genesis time and validators of a home."""
    try:
        g = load_genesis(home_at(home).genesis_json)
    except InvalidGenesisError as exc:
        fail("invalid_genesis", str(exc), output)
    emit(
        {
            "chain_id": g.chain_id,
            "genesis_time_unix": g.genesis_time_unix,
            "validators": [v.pub_key.hex() for v in g.validators],
        },
        output,
    )
