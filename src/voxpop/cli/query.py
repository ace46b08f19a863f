"""`voxpop query`: read the chain through a node's API: balances, accounts, blocks, txs, status.

With --prove, answers are verified against the block header, and the header's signature against a
trusted validator key: those given with --trust-validator, else the validators in the genesis of
--home (when it has one), else the ones the node reports (trust on first use).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.genesis import load_genesis
from voxpop.chain.modules.staking.state import (
    Validator,
    compute_tokens,
    decode_delegation,
    decode_validator,
)
from voxpop.chain.tx import tx_hash as compute_tx_hash
from voxpop.cli.keys import HomeOption, KeyringBackendChoice, KeyringBackendOption, open_keyring
from voxpop.cli.output import (
    OutputFormat,
    OutputOption,
    emit,
    fail,
    kv_table,
    rows_table,
)
from voxpop.client import (
    DEFAULT_URL,
    AccountInfo,
    QueryResult,
    VoxClient,
    VoxClientError,
    format_vox,
)
from voxpop.crypto import CryptoError, decode_address, encode_address, is_address
from voxpop.node.home import NodeHome, default_home
from voxpop.node.service import BlockRecord, NodeStatus, TxRecord

NODE_ENV = "VOXPOP_NODE"
NodeOption = typer.Option(DEFAULT_URL, "--node", envvar=NODE_ENV, help="the node's API URL")
TrustOption = typer.Option(
    None,
    "--trust-validator",
    help="hex Ed25519 validator key to trust (repeatable; default: the genesis of --home)",
)

query_app = typer.Typer(no_args_is_help=True, help="Read the chain: balances, blocks, txs, status.")
bank_query_app = typer.Typer(no_args_is_help=True, help="Query the bank module.")
staking_query_app = typer.Typer(no_args_is_help=True, help="Query the staking module.")
query_app.add_typer(bank_query_app, name="bank")
query_app.add_typer(staking_query_app, name="staking")


# --- shared with `voxpop tx` ------------------------------------------------------------------


@contextmanager
def client_errors(fmt: OutputFormat) -> Iterator[None]:
    """Report any client error (node refusals, proof failures, no connection) via fail()."""
    try:
        yield
    except VoxClientError as exc:
        fail(exc.code, exc.message, fmt)


def resolve_address(
    text: str, home: Path | None, backend: KeyringBackendChoice, fmt: OutputFormat
) -> str:
    """A vox1 address as given, or the address of the keyring key with that name."""
    if is_address(text):
        return text
    try:
        return open_keyring(home, backend).show(text).address
    except CryptoError:
        fail("invalid_address", f"{text!r} is neither a vox1 address nor a key in the keyring", fmt)


def trusted_keys(
    trust: list[str] | None, home: Path | None, fmt: OutputFormat
) -> list[bytes] | None:
    """The validator keys to check headers against; None to learn them from the node."""
    if trust:
        try:
            keys = [bytes.fromhex(k) for k in trust]
        except ValueError:
            fail("invalid_key", "--trust-validator takes a 64-digit hex public key", fmt)
        if any(len(k) != 32 for k in keys):
            fail("invalid_key", "--trust-validator takes a 64-digit hex public key", fmt)
        return keys
    genesis_path = NodeHome(home or default_home()).genesis_json
    if genesis_path.exists():
        try:
            return [v.pub_key for v in load_genesis(genesis_path).validators]
        except InvalidGenesisError as exc:
            fail(exc.name, f"{genesis_path}: {exc.message}", fmt)
    return None


def format_uvox(uvox: int) -> str:
    return f"{uvox} uvox ({format_vox(uvox)})"


def read_validator(
    client: VoxClient,
    operator: bytes,
    fmt: OutputFormat,
    *,
    height: int | None = None,
    prove: bool = False,
) -> tuple[Validator, QueryResult]:
    """The validator run by `operator` (the `/staking/validator` query); fails with
    unknown_validator if there is none."""
    result = client.query("/staking/validator", operator, height=height, prove=prove)
    if not result.value:
        fail("unknown_validator", f"no validator with operator {encode_address(operator)}", fmt)
    return decode_validator(result.value), result


# --- records as JSON: hashes hex, tx bytes base64, as the API ---------------------------------


def account_dict(info: AccountInfo) -> dict[str, Any]:
    data: dict[str, Any] = {
        "address": info.address,
        "balance": info.balance,
        "sequence": info.sequence,
        "pub_key": info.pub_key.hex() if info.pub_key else None,
        "height": info.height,
        "verified": info.verified,
    }
    return data


def tx_record_dict(record: TxRecord) -> dict[str, Any]:
    r = record.result
    return {
        "hash": record.hash.hex(),
        "height": record.height,
        "index": record.index,
        "tx": base64.b64encode(record.tx).decode(),
        "code": r.code,
        "codespace": r.codespace,
        "log": r.log,
        "gas_wanted": r.gas_wanted,
        "gas_used": r.gas_used,
        "events": [
            {"type": e.type, "attributes": {a.key: a.value for a in e.attributes}} for e in r.events
        ],
    }


def block_dict(block: BlockRecord) -> dict[str, Any]:
    h = block.header
    return {
        "height": h.height,
        "hash": block.hash.hex(),
        "chain_id": h.chain_id,
        "time_unix": h.time_unix,
        "last_block_hash": h.last_block_hash.hex(),
        "data_hash": h.data_hash.hex(),
        "app_hash": h.app_hash.hex(),
        "proposer": h.proposer.hex(),
        "num_txs": h.num_txs,
        "signature": block.signature.hex(),
        "signer_pub_key": block.signer_pub_key.hex(),
        "txs": [
            {
                "index": i,
                "tx": base64.b64encode(tx).decode(),
                "code": r.code,
                "log": r.log,
                "gas_used": r.gas_used,
            }
            for i, (tx, r) in enumerate(zip(block.txs, block.results, strict=True))
        ],
    }


def status_dict(status: NodeStatus) -> dict[str, Any]:
    return {
        "chain_id": status.chain_id,
        "node_mode": status.node_mode,
        "latest_height": status.latest_height,
        "latest_block_hash": status.latest_block_hash.hex(),
        "latest_app_hash": status.latest_app_hash.hex(),
        "latest_block_time_unix": status.latest_block_time_unix,
        "mempool_size": status.mempool_size,
        "validator_pub_keys": [k.hex() for k in status.validator_pub_keys],
    }


def validator_dict(val: Validator) -> dict[str, Any]:
    return {
        "operator": encode_address(val.operator),
        "consensus_pub_key": val.consensus_pub_key.hex(),
        "consensus_address": val.consensus_address.hex(),
        "tokens": val.tokens,
        "shares": val.shares,
        "power": val.power,
        "status": val.status.name.lower(),
        "jailed": val.jailed,
        "tombstoned": val.tombstoned,
        "commission_rate_bps": val.commission_rate_bps,
        "max_commission_rate_bps": val.max_commission_rate_bps,
        "max_commission_change_bps": val.max_commission_change_bps,
        "commission_updated_time": val.commission_updated_time,
        "moniker": val.moniker,
        "details": val.details,
        "unbonding_time": val.unbonding_time,
    }


# --- commands ---------------------------------------------------------------------------------


def _read_account(
    address: str,
    node: str,
    height: int | None,
    prove: bool,
    trust: list[str] | None,
    home: Path | None,
    backend: KeyringBackendChoice,
    fmt: OutputFormat,
) -> AccountInfo:
    addr = resolve_address(address, home, backend, fmt)
    keys = trusted_keys(trust, home, fmt) if prove else None
    with client_errors(fmt), VoxClient(node, trusted_validator_keys=keys) as client:
        return client.account(addr, height=height, prove=prove)


def _render_account(info: AccountInfo, with_sequence: bool) -> None:
    rows: dict[str, Any] = {"address": info.address, "balance": format_uvox(info.balance)}
    if with_sequence:
        rows["sequence"] = str(info.sequence)
        rows["pub_key"] = info.pub_key.hex() if info.pub_key else "(none yet)"
    rows["height"] = str(info.height)
    if info.verified:
        rows["proof"] = "verified against the signed block header"
    kv_table(rows)


@bank_query_app.command("balance")
def balance(
    address: str = typer.Argument(..., help="vox1 address, or the name of a key in the keyring"),
    prove: bool = typer.Option(False, "--prove", help="verify the answer with a Merkle proof"),
    height: int | None = typer.Option(
        None, "--height", min=1, help="at this block (default: latest)"
    ),
    node: str = NodeOption,
    trust: list[str] | None = TrustOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """An account's balance, in uvox."""
    info = _read_account(address, node, height, prove, trust, home, keyring_backend, output)
    data = {
        "address": info.address,
        "balance": info.balance,
        "height": info.height,
        "verified": info.verified,
    }
    emit(data, output, lambda _: _render_account(info, with_sequence=False))


@query_app.command("account")
def account(
    address: str = typer.Argument(..., help="vox1 address, or the name of a key in the keyring"),
    prove: bool = typer.Option(False, "--prove", help="verify the answer with Merkle proofs"),
    height: int | None = typer.Option(
        None, "--height", min=1, help="at this block (default: latest)"
    ),
    node: str = NodeOption,
    trust: list[str] | None = TrustOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """An account: balance, sequence and public key."""
    info = _read_account(address, node, height, prove, trust, home, keyring_backend, output)
    emit(account_dict(info), output, lambda _: _render_account(info, with_sequence=True))


@query_app.command("block")
def block(
    height: str = typer.Argument("latest", help="a height, or latest"),
    node: str = NodeOption,
    output: OutputFormat = OutputOption,
) -> None:
    """A block: header, signature and its txs with their results."""
    number: int | None = None
    if height != "latest":
        if not height.isdigit() or int(height) < 1:
            fail(
                "invalid_height", f"{height!r} is not a block height (1, 2, ... or latest)", output
            )
        number = int(height)
    with client_errors(output), VoxClient(node) as client:
        record = client.block(number)
    data = block_dict(record)

    def render(_: Any) -> None:
        kv_table(
            {k: str(v) for k, v in data.items() if k != "txs"}, title=f"block {data['height']}"
        )
        if data["txs"]:
            rows_table(
                [{**t, "hash": _tx_hash_hex(t["tx"])} for t in data["txs"]],
                ["index", "hash", "code", "gas_used", "log"],
            )

    emit(data, output, render)


def _tx_hash_hex(tx_b64: str) -> str:
    return compute_tx_hash(base64.b64decode(tx_b64)).hex()


@query_app.command("tx")
def tx(
    tx_hash: str = typer.Argument(..., metavar="HASH", help="the tx hash, 64 hex digits"),
    node: str = NodeOption,
    output: OutputFormat = OutputOption,
) -> None:
    """A committed tx and its result."""
    try:
        raw = bytes.fromhex(tx_hash)
    except ValueError:
        raw = b""
    # Verify the hash before asking the node
    if len(raw) != 32:
        fail("invalid_hash", "a tx hash is 64 hex digits", output)
    with client_errors(output), VoxClient(node) as client:
        record = client.tx(raw)
    data = tx_record_dict(record)

    def render(_: Any) -> None:
        kv_table({k: str(v) for k, v in data.items() if k not in ("tx", "events")})
        for event in data["events"]:
            kv_table(event["attributes"], title=event["type"])

    emit(data, output, render)


@query_app.command("status")
def status(node: str = NodeOption, output: OutputFormat = OutputOption) -> None:
    """The node's chain, mode, latest block and validators."""
    with client_errors(output), VoxClient(node) as client:
        data = status_dict(client.status())
    emit(
        data,
        output,
        lambda _: kv_table({k: v if isinstance(v, str) else str(v) for k, v in data.items()}),
    )


def _raw_address(
    text: str, home: Path | None, backend: KeyringBackendChoice, fmt: OutputFormat
) -> bytes:
    return decode_address(resolve_address(text, home, backend, fmt))


@staking_query_app.command("validator")
def staking_validator(
    operator: str = typer.Argument(
        ..., metavar="OPERATOR", help="the validator's operator: vox1 address or key name"
    ),
    prove: bool = typer.Option(False, "--prove", help="verify the answer with a Merkle proof"),
    node: str = NodeOption,
    trust: list[str] | None = TrustOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """A validator: stake, status, commission and description."""
    raw = _raw_address(operator, home, keyring_backend, output)
    keys = trusted_keys(trust, home, output) if prove else None
    with client_errors(output), VoxClient(node, trusted_validator_keys=keys) as client:
        val, result = read_validator(client, raw, output, prove=prove)
    data = {**validator_dict(val), "height": result.height, "verified": result.verified}

    def render(_: Any) -> None:
        rows = {k: v if isinstance(v, str) else str(v) for k, v in data.items()}
        rows["tokens"] = format_uvox(val.tokens)
        kv_table(rows, title=f"validator {val.moniker}")

    emit(data, output, render)


@staking_query_app.command("delegation")
def staking_delegation(
    operator: str = typer.Argument(
        ..., metavar="OPERATOR", help="the validator's operator: vox1 address or key name"
    ),
    delegator: str = typer.Argument(
        ..., metavar="DELEGATOR", help="the delegator: vox1 address or key name"
    ),
    prove: bool = typer.Option(False, "--prove", help="verify the answers with Merkle proofs"),
    node: str = NodeOption,
    trust: list[str] | None = TrustOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """A delegation: the delegator's shares of a validator and what they are worth in uvox."""
    raw_operator = _raw_address(operator, home, keyring_backend, output)
    raw_delegator = _raw_address(delegator, home, keyring_backend, output)
    keys = trusted_keys(trust, home, output) if prove else None
    with client_errors(output), VoxClient(node, trusted_validator_keys=keys) as client:
        result = client.query("/staking/delegation", raw_operator + raw_delegator, prove=prove)
        # The validator at the same height, for the worth of the shares
        val, _ = read_validator(client, raw_operator, output, height=result.height, prove=prove)
    shares = decode_delegation(result.value) if result.value else 0
    tokens = compute_tokens(val, shares)
    data: dict[str, Any] = {
        "validator": encode_address(raw_operator),
        "delegator": encode_address(raw_delegator),
        "shares": shares,
        "tokens": tokens,
        "height": result.height,
        "verified": result.verified,
    }

    def render(_: Any) -> None:
        rows = {k: v if isinstance(v, str) else str(v) for k, v in data.items()}
        rows["tokens"] = format_uvox(tokens)
        kv_table(rows)

    emit(data, output, render)


__all__ = ["bank_query_app", "query_app", "staking_query_app"]
