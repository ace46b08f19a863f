"""`voxpop node`: create a node home and run it (solo, or under CometBFT)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
    state_sync: str = typer.Option(
        "",
        "--state-sync",
        help="RPC1,RPC2: join a running network by state sync, verifying through these CometBFT "
        "RPC servers (needs --genesis and --peers)",
    ),
    genesis_file: Path | None = typer.Option(None, "--genesis", help="the network's genesis.json"),
    peers: str = typer.Option("", "--peers", help="ID@HOST:PORT,... to connect to"),
    trust_height: int = typer.Option(0, "--trust-height", help="a trust root got out of band"),
    trust_hash: str = typer.Option("", "--trust-hash", help="the block hash at --trust-height"),
    output: OutputFormat = OutputOption,
) -> None:
    """Write config.toml, a validator key and a one-validator genesis.json; with --state-sync, a
    full node of an existing network that restores a snapshot instead of replaying blocks."""
    balances = parse_funds(fund, output)
    config = NodeConfig()
    config.api.port = api_port
    if state_sync:
        _init_state_sync(
            home, state_sync, genesis_file, peers, trust_height, trust_hash, config, output
        )
        return
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


def _init_state_sync(
    home: Path,
    rpc_servers: str,
    genesis_file: Path | None,
    peers: str,
    trust_height: int,
    trust_hash: str,
    config: NodeConfig,
    output: OutputFormat,
) -> None:
    from voxpop.client.light import TrustOptions
    from voxpop.node.statesync import (
        StateSyncSetupError,
        init_state_sync_home,
        verified_trust_root,
    )

    h = home_at(home)
    if h.exists():
        fail(HomeExistsError.code, f"{h.root} already holds a node (genesis.json exists)", output)
    # Verify what a joining node cannot do without: the network's genesis and someone to ask
    if genesis_file is None or not peers:
        fail("state_sync_setup", "--state-sync needs --genesis FILE and --peers", output)
    servers = [s.strip() for s in rpc_servers.split(",") if s.strip()]
    try:
        given = TrustOptions(trust_height, bytes.fromhex(trust_hash)) if trust_height else None
        trust = verified_trust_root(servers, given)
        config.cometbft.persistent_peers = peers
        init_state_sync_home(
            h, genesis=genesis_file, rpc_servers=servers, trust=trust, config=config
        )
    except ValueError as exc:
        fail("state_sync_setup", f"bad trust root: {exc}", output)
    except StateSyncSetupError as exc:
        fail(exc.code, str(exc), output)
    except OSError as exc:
        fail("init_failed", str(exc), output)
    emit(
        {
            "home": str(h.root),
            "state_sync_rpc_servers": servers,
            "trust_height": trust.height,
            "trust_hash": trust.hash.hex().upper(),
        },
        output,
    )


snapshot_app = typer.Typer(no_args_is_help=True, help="Back up and restore a stopped node's state.")
node_app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("export")
def snapshot_export(
    out: Path = typer.Argument(..., help="directory to write the snapshot into"),
    home: Path = typer.Option(default_home(), "--home", help="node home directory"),
    output: OutputFormat = OutputOption,
) -> None:
    """Write the node's latest state as a snapshot (the state sync format) into OUT."""
    from voxpop.node.snapshots.backup import export_snapshot
    from voxpop.node.snapshots.errors import SnapshotError
    from voxpop.store import StoreError

    try:
        meta = export_snapshot(home_at(home), out)
    except (SnapshotError, StoreError, ConfigError) as exc:
        fail(getattr(exc, "code", "snapshot_error"), str(exc), output)
    emit(_snapshot_summary(meta, out), output)


@snapshot_app.command("import")
def snapshot_import(
    src: Path = typer.Argument(..., help="directory holding snapshots (from `export`)"),
    home: Path = typer.Option(default_home(), "--home", help="node home directory"),
    height: int | None = typer.Option(None, "--height", help="default: the newest in SRC"),
    app_hash: str = typer.Option("", "--app-hash", help="the app hash it must restore (hex)"),
    output: OutputFormat = OutputOption,
) -> None:
    """Restore a snapshot into a node whose store is empty (after `voxpop node init`)."""
    from voxpop.node.snapshots.backup import import_snapshot
    from voxpop.node.snapshots.errors import SnapshotError
    from voxpop.store import StoreError, VersionError

    try:
        expected = bytes.fromhex(app_hash) if app_hash else None
        meta = import_snapshot(home_at(home), src, height, expected)
    except ValueError as exc:
        fail("snapshot_error", f"--app-hash: {exc}", output)
    except VersionError as exc:
        fail("snapshot_state_not_empty", str(exc), output)
    except (SnapshotError, StoreError, ConfigError) as exc:
        fail(getattr(exc, "code", "snapshot_error"), str(exc), output)
    emit(_snapshot_summary(meta, src), output)


def _snapshot_summary(meta: Any, where: Path) -> dict[str, Any]:
    return {
        "dir": str(where),
        "height": meta.height,
        "app_hash": meta.app_hash.hex().upper(),
        "records": meta.records,
        "chunks": meta.chunks,
    }


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
