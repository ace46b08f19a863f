"""`voxpop query block|tx|status`: the chain's own records, which belong to no module. Hashes are
hex and tx bytes base64, as the API shows them."""

from __future__ import annotations

import base64
from typing import Any

from voxpop.chain.tx import tx_hash as compute_tx_hash
from voxpop.cli.declare import Arg, Inputs, Kind, QueryCommand
from voxpop.cli.options import RecordQueryOptions
from voxpop.cli.output import fail, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.node.service import BlockRecord, NodeStatus, TxRecord


def parse_block_height(text: str, inputs: Inputs, label: str) -> int | None:
    """A height of 1 or more, or None for `latest`."""
    if text == "latest":
        return None
    # Verify a height the chain can have
    if not text.isdigit() or int(text) < 1:
        fail(
            "invalid_height", f"{text!r} is not a block height (1, 2, ... or latest)", inputs.output
        )
    return int(text)


def parse_tx_hash(text: str, inputs: Inputs, label: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    # Verify the hash before asking the node
    if len(raw) != 32:
        fail("invalid_hash", "a tx hash is 64 hex digits", inputs.output)
    return raw


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


def render_block(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "txs"}, title=f"block {data['height']}")
    if data["txs"]:
        rows_table(
            [{**t, "hash": compute_tx_hash(base64.b64decode(t["tx"])).hex()} for t in data["txs"]],
            ["index", "hash", "code", "gas_used", "log"],
        )


def render_tx(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k not in ("tx", "events")})
    for event in data["events"]:
        kv_table(event["attributes"], title=event["type"])


def read_block(client: VoxClient, _: RecordQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    return block_dict(client.block(given["height"]))


def read_tx(client: VoxClient, _: RecordQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    return tx_record_dict(client.tx(given["hash"]))


def read_status(client: VoxClient, _: RecordQueryOptions, __: dict[str, Any]) -> dict[str, Any]:
    return status_dict(client.status())


COMMANDS = (
    QueryCommand(
        module=None,
        what="block",
        help="A block: header, signature and its txs with their results.",
        read=read_block,
        args=(
            Arg("height", "a height, or latest", Kind(str, parse_block_height), default="latest"),
        ),
        render=render_block,
    ),
    QueryCommand(
        module=None,
        what="tx",
        help="A committed tx and its result.",
        read=read_tx,
        args=(Arg("hash", "the tx hash, 64 hex digits", Kind(str, parse_tx_hash)),),
        render=render_tx,
    ),
    QueryCommand(
        module=None,
        what="status",
        help="The node's chain, mode, latest block and validators.",
        read=read_status,
    ),
)
