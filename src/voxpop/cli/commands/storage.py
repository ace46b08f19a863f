"""`voxpop tx storage register|update|add-collateral|withdraw|claim|replace|close-deal` and
`voxpop query storage provider|providers|deal|by-owner|by-provider|challenges|params`: storage
providers and deals (the chain's storage module).

OpenDeal, Confirm and Prove carry shard roots, batches and Merkle paths: the owner's client
(`voxpop data put`) and the storage node build them, not a command line."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.storage.messages import (
    MsgAddCollateral,
    MsgClaim,
    MsgCloseDeal,
    MsgRegister,
    MsgReplace,
    MsgUpdate,
    MsgWithdraw,
)
from voxpop.chain.modules.storage.module import deal_json, provider_json
from voxpop.chain.modules.storage.state import (
    decode_challenges,
    decode_deal,
    decode_params,
    decode_provider,
    u64,
)
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.commands.channels import HEX32
from voxpop.cli.declare import (
    AMOUNT_HELP,
    INTEGER,
    TEXT,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail
from voxpop.client import VoxClient
from voxpop.crypto import encode_address


def _parse_ids(text: str | None, inputs: Inputs, label: str) -> list[bytes]:
    """`ID1,ID2`: object ids, 64 hex digits each."""
    ids = []
    for part in (text or "").split(","):
        raw = HEX32.parse(part.strip(), inputs, label)
        assert raw is not None
        ids.append(raw)
    return ids


OBJECT_IDS = Kind(str, _parse_ids)
OBJECT_ARG = Arg("object_id", "the object id, 64 hex digits", HEX32, metavar="OBJECT_ID")
TERMS = (
    Arg(
        "endpoint",
        "the storage node's URL, e.g. https://store.example.org",
        TEXT,
        metavar="ENDPOINT",
    ),
    Arg("capacity", "bytes offered", INTEGER, metavar="CAPACITY"),
    Arg("price", "uvox per GiB per epoch", INTEGER, metavar="PRICE"),
)

TX_COMMANDS = (
    TxCommand(
        module="storage",
        verb="register",
        msg=MsgRegister,
        help="Offer CAPACITY bytes at ENDPOINT for PRICE uvox per GiB-epoch, locking COLLATERAL "
        "(at least the chain's min_collateral; slashed on missed proofs).",
        args=(*TERMS, Arg("collateral", AMOUNT_HELP, flag="--collateral")),
    ),
    TxCommand(
        module="storage",
        verb="update",
        msg=MsgUpdate,
        help="Change the provider's ENDPOINT, CAPACITY and PRICE (open deals keep theirs).",
        args=TERMS,
    ),
    TxCommand(
        module="storage",
        verb="add-collateral",
        msg=MsgAddCollateral,
        help="Add AMOUNT to the provider's collateral.",
        args=(Arg("amount", AMOUNT_HELP),),
    ),
    TxCommand(
        module="storage",
        verb="withdraw",
        msg=MsgWithdraw,
        help="Leave (only once the provider holds no shard): the collateral returns.",
    ),
    TxCommand(
        module="storage",
        verb="claim",
        msg=MsgClaim,
        help="As a provider, take the pay of the proven epochs that are over, for the deals "
        "OBJECT_IDS (comma-separated).",
        args=(
            Arg("object_ids", "object ids, comma-separated hex", OBJECT_IDS, metavar="OBJECT_IDS"),
        ),
    ),
    TxCommand(
        module="storage",
        verb="replace",
        msg=MsgReplace,
        help="As the owner, move shard SHARD_INDEX of OBJECT_ID (marked for repair, or never "
        "confirmed) to PROVIDER; upload the rebuilt shard to it next.",
        args=(
            OBJECT_ARG,
            Arg("shard_index", "the shard's index, 0..n-1", INTEGER, metavar="SHARD_INDEX"),
            Arg("provider", "the new provider: vox1 address or key name"),
        ),
    ),
    TxCommand(
        module="storage",
        verb="close-deal",
        msg=MsgCloseDeal,
        help="As the owner, end OBJECT_ID's deal now: providers are paid what they earned, the "
        "rest of the escrow returns.",
        args=(OBJECT_ARG,),
    ),
)


def _answer(name: str, value: Any, result: Any) -> dict[str, Any]:
    return {name: value, "height": result.height, "verified": result.verified}


def read_provider(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    address = given["address"]
    result = client.query("/storage/provider", address, height=opts.height, prove=opts.prove)
    shown = provider_json(address, decode_provider(result.value)) if result.value else None
    return _answer("provider", shown, result)


def read_deal(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    object_id = given["object_id"]
    result = client.query("/storage/deal", object_id, height=opts.height, prove=opts.prove)
    shown = deal_json(object_id, decode_deal(result.value)) if result.value else None
    return _answer("deal", shown, result)


def read_challenges(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    data = given["address"] + u64(given["epoch"])
    result = client.query("/storage/challenges", data, height=opts.height, prove=opts.prove)
    shown = None
    if result.value:
        c = decode_challenges(result.value)
        shown = {
            "items": [[o.hex(), s, leaf] for o, s, leaf in c.items],
            "proven": list(c.proven),
            "judged": c.judged,
        }
    return _answer("challenges", shown, result)


def read_params(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    result = client.query("/storage/params", b"", height=opts.height, prove=opts.prove)
    params = decode_params(result.value) if result.value else None
    return _answer("params", params.to_value() if params else None, result)


def _read_list(path: str, show: Any, owner_arg: bool = True) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        # Verify the latest height: lists are answered there only
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner = given["address"] if owner_arg else b""
        answer = client.query_list(path, owner, prove=opts.prove)
        return {
            **({"owner": encode_address(owner)} if owner_arg else {}),
            "items": [show(item.id, item.value) for item in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


def _show_deal(item_id: bytes, value: bytes) -> dict[str, Any]:
    shown = deal_json(item_id[:32], decode_deal(value))
    if len(item_id) > 32:  # a provider's placement: which shard of the deal is its
        shown["shard_index"] = item_id[32]
    return shown


QUERY_COMMANDS = (
    QueryCommand(
        module="storage",
        what="provider",
        help="A storage provider (none: null): endpoint, capacity, price, collateral, used, "
        "faults and proven epochs.",
        read=read_provider,
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="storage",
        what="providers",
        help="Every registered storage provider (a list: with --prove, proven whole).",
        read=_read_list(
            "/storage/providers", lambda a, v: provider_json(a, decode_provider(v)), False
        ),
    ),
    QueryCommand(
        module="storage",
        what="deal",
        help="A deal by object id (none: null): sizes, k, n, term, and each shard's provider, "
        "root and status (pending|active|repair).",
        read=read_deal,
        args=(OBJECT_ARG,),
    ),
    QueryCommand(
        module="storage",
        what="by-owner",
        help="Every open deal of ADDRESS (a list: with --prove, proven whole).",
        read=_read_list("/storage/by_owner", _show_deal),
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="storage",
        what="by-provider",
        help="Every deal with a shard at ADDRESS (a list: with --prove, proven whole).",
        read=_read_list("/storage/by_provider", _show_deal),
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="storage",
        what="challenges",
        help="ADDRESS's challenges in EPOCH: (object id, shard, leaf) each, and which are proven.",
        read=read_challenges,
        args=(ADDRESS_ARG, Arg("epoch", "the epoch", INTEGER, metavar="EPOCH")),
    ),
    QueryCommand(
        module="storage",
        what="params",
        help="Storage parameters: epoch length, deadline, challenges, leaf size, collateral.",
        read=read_params,
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
