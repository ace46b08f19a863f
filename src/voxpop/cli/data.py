"""`voxpop data put|get|ls|rm|status|repair`: the owner's files, encrypted here, erasure-coded and
held by storage providers; only an opaque id, sizes, roots and the deal terms go on chain.

Names live only in the owner's sealed index in --home (client/storage/index.py). `get` writes to
`--file` (`-o` is every command's output format). See docs/operations/data.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from voxpop.cli.connect import client_errors, light_client, trusted_keys
from voxpop.cli.options import with_options
from voxpop.cli.output import OutputFormat, emit, err_console, fail, kv_table, rows_table
from voxpop.cli.owner import KeyOption, OwnerReadOptions, load_owner
from voxpop.client import VoxClient
from voxpop.client.storage import (
    DEFAULT_EPOCHS,
    DEFAULT_K,
    DEFAULT_N,
    DataError,
    DataVault,
    PutPolicy,
    parse_object_id,
)
from voxpop.client.storage.repair import DEFAULT_REPAIR_MARGIN
from voxpop.crypto.address import encode_address
from voxpop.node.home import default_home

data_app = typer.Typer(
    no_args_is_help=True,
    help="Your data: encrypted here, erasure-coded, held and proven by storage providers.",
)

ObjectArgument: Any = typer.Argument(
    ..., metavar="ID", help="the object id (64 hex digits, or 8+ leading ones) or its file name"
)


@contextmanager
def vault_session(key: str, opts: OwnerReadOptions) -> Iterator[DataVault]:
    """The owner's vault over a client that proves every read; client and storage errors are
    reported with their codes."""
    fmt = opts.output
    keys = trusted_keys(opts.trust, opts.home, fmt)
    light = light_client(opts.trust_height, opts.trust_hash, opts.home, fmt)
    signer = load_owner(key, opts)
    home = opts.home if opts.home is not None else default_home()
    client = VoxClient(opts.node, trusted_validator_keys=keys, light=light)
    with client_errors(fmt), client, DataVault(client, signer.key, home) as vault:
        try:
            yield vault
        except DataError as exc:
            fail(exc.code, exc.message, fmt)


@contextmanager
def progress_bar(fmt: OutputFormat) -> Iterator[Any]:
    """A progress callback drawing one bar per phase on stderr (text output on a terminal)."""
    if fmt != OutputFormat.TEXT or not sys.stderr.isatty():
        yield lambda phase, done, total: None
        return
    with Progress(
        TextColumn("{task.description:>9}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield report


def resolve(vault: DataVault, ref: str, fmt: OutputFormat) -> bytes:
    """An object id from a full id, or a unique id prefix / file name from the local index."""
    try:
        return parse_object_id(ref)
    except ValueError:
        pass
    found = vault.index.find(ref)
    # Verify the reference names exactly one object
    if len(found) != 1:
        why = "no object" if not found else f"{len(found)} objects"
        fail("object_not_found", f"{why} named {ref!r} in the local index", fmt)
    return bytes.fromhex(found[0].object_id)


@data_app.command("put")
@with_options(OwnerReadOptions)
def put(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the file to store"),
    k: int = typer.Option(DEFAULT_K, "--k", min=1, help="shards any of which rebuild it"),
    n: int = typer.Option(DEFAULT_N, "--n", min=2, help="shards in all, one per provider"),
    epochs: int = typer.Option(DEFAULT_EPOCHS, "--epochs", min=1, help="how long it is kept"),
    max_price: int | None = typer.Option(
        None, "--max-price", min=0, help="uvox per GiB-epoch at most (default: any)"
    ),
    name: str | None = typer.Option(None, "--name", help="its name in your index (the file's)"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="wait for the nodes' Confirms"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Encrypt FILE, erasure-code it into N shards (any K rebuild it), open a deal with N
    providers and upload the shards. Prints the object id."""
    policy = PutPolicy(k=k, n=n, epochs=epochs, max_price=max_price, wait_confirm=wait)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail("file_unreadable", f"cannot read {file}: {exc.strerror}", opts.output)
    with vault_session(key, opts) as vault, progress_bar(opts.output) as report:
        result = vault.put(data, name or file.name, policy, report)
    shown = {
        "id": result.object_id.hex(),
        "name": name or file.name,
        "size": result.size,
        "shard_size": result.shard_size,
        "k": result.k,
        "n": result.n,
        "providers": [encode_address(p) for p in result.providers],
        "tx_hash": result.tx_hash,
        "height": result.height,
        "confirmed": result.confirmed,
        "failed_uploads": {str(i): why for i, why in result.failed.items()},
        "timings_s": {k_: round(v, 3) for k_, v in result.timings.items()},
    }
    emit(shown, opts.output)
    if result.failed:
        fail(
            "upload_failed",
            f"{len(result.failed)} shard(s) not stored; `voxpop data repair "
            f"{result.object_id.hex()}` places them elsewhere once the confirm window passes",
            opts.output,
        )


@data_app.command("get")
@with_options(OwnerReadOptions)
def get(
    ref: str = ObjectArgument,
    file: Path | None = typer.Option(
        None, "--file", "-f", help="write here (default: the name in your index, else the id)"
    ),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Fetch the fastest K shards, check each against its on-chain root, decode and decrypt."""
    with vault_session(key, opts) as vault, progress_bar(opts.output) as report:
        object_id = resolve(vault, ref, opts.output)
        data = vault.get(object_id, report)
        entry = vault.index.get(object_id.hex())
    target = file or Path(Path(entry.name).name if entry is not None else object_id.hex())
    try:
        target.write_bytes(data)
    except OSError as exc:
        fail("file_unwritable", f"cannot write {target}: {exc.strerror}", opts.output)
    emit({"id": object_id.hex(), "file": str(target), "size": len(data)}, opts.output)


@data_app.command("ls")
@with_options(OwnerReadOptions)
def ls(key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """Your objects: every open deal (proven complete), named from your local index."""
    with vault_session(key, opts) as vault:
        rows = vault.ls()

    def render(_: Any) -> None:
        rows_table(
            [{**r, "name": r["name"] or "(not in this index)"} for r in rows],
            ("name", "id", "size", "on_chain"),
            title="objects",
        )

    emit({"objects": rows}, opts.output, render)


@data_app.command("rm")
@with_options(OwnerReadOptions)
def rm(ref: str = ObjectArgument, key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """Close the object's deal (unearned escrow returns to you) and forget its name."""
    with vault_session(key, opts) as vault:
        object_id = resolve(vault, ref, opts.output)
        tx = vault.rm(object_id)
    emit({"id": object_id.hex(), "removed": True, "tx_hash": tx}, opts.output)


@data_app.command("status")
@with_options(OwnerReadOptions)
def status(ref: str = ObjectArgument, key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """The object's deal: each shard's provider, root and status, and whether its node answers."""
    with vault_session(key, opts) as vault:
        data = vault.status(resolve(vault, ref, opts.output))

    def render(_: Any) -> None:
        kv_table({k: v for k, v in data.items() if k != "placements"})
        rows_table(data["placements"], ("index", "provider", "status", "reachable", "endpoint"))

    emit(data, opts.output, render)


@data_app.command("repair")
@with_options(OwnerReadOptions)
def repair(
    ref: str | None = typer.Argument(
        None, metavar="[ID]", help="one object (default: every object of yours)"
    ),
    margin: int = typer.Option(
        DEFAULT_REPAIR_MARGIN, "--margin", min=0, help="repair below k + margin live shards"
    ),
    force: bool = typer.Option(False, "--force", help="repair any lost shard, whatever the margin"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Rebuild lost shards (marked for repair, provider gone, never confirmed) from K live ones
    and place them with new providers (storage/Replace). With ID, any lost shard is repaired."""
    with vault_session(key, opts) as vault, progress_bar(opts.output) as report:
        object_id = resolve(vault, ref, opts.output) if ref is not None else None
        results = vault.repair(
            object_id, margin=margin, force=force or object_id is not None, progress=report
        )
    rows: list[dict[str, Any]] = [
        {
            "id": r.object_id.hex(),
            "live": r.live,
            "repaired": {str(i): encode_address(p) for i, p in r.repaired.items()},
            "skipped": r.skipped,
        }
        for r in results
    ]

    def render(_: Any) -> None:
        rows_table(
            [{**r, "repaired": ", ".join(r["repaired"]) or "-"} for r in rows],
            ("id", "live", "repaired", "skipped"),
            title="repair",
        )

    emit({"objects": rows}, opts.output, render)
