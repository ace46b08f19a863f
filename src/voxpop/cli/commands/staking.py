"""`voxpop tx staking ...` and `voxpop query staking ...`: validators and delegations.

VALIDATOR arguments name a validator by its operator: a vox1 address or a key in the keyring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxpop.chain.modules.staking.messages import (
    MsgCreateValidator,
    MsgDelegate,
    MsgEditValidator,
    MsgRedelegate,
    MsgUndelegate,
)
from voxpop.chain.modules.staking.state import (
    Validator,
    compute_tokens,
    decode_delegation,
    decode_validator,
)
from voxpop.cli.connect import client_errors
from voxpop.cli.declare import (
    ADDRESS,
    AMOUNT_HELP,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import OutputFormat, fail, format_uvox, kv_table, rows_table
from voxpop.client import QueryResult, VoxClient
from voxpop.crypto import encode_address
from voxpop.node.home import NodeHome, default_home
from voxpop.node.validator_key import ValidatorKeyError, load_validator_key

VALIDATOR_HELP = "the validator's operator: vox1 address or key name"


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


# --- tx -------------------------------------------------------------------------------------------


def parse_consensus_key_file(path: Path | None, inputs: Inputs, label: str) -> bytes:
    """The public key in a priv_validator_key.json (default: the one in --home)."""
    key_file = path or NodeHome(inputs.home or default_home()).priv_validator_key
    try:
        return load_validator_key(key_file).public_key.raw
    except ValidatorKeyError as exc:
        fail("invalid_consensus_key", str(exc), inputs.output)


CONSENSUS_KEY_FILE = Kind(Path, parse_consensus_key_file)


def keep_unchanged(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """What edit-validator is not given stays as the chain has it now."""
    with client_errors(opts.output), VoxClient(opts.node) as client:
        current, _ = read_validator(client, value["operator"], opts.output)
    return {k: getattr(current, k) if v is None else v for k, v in value.items()}


DELEGATION_ARGS = (Arg("validator", VALIDATOR_HELP), Arg("amount", AMOUNT_HELP))

TX_COMMANDS = (
    TxCommand(
        module="staking",
        verb="create-validator",
        msg=MsgCreateValidator,
        help="Make FROM the operator of a new validator that signs with the node's consensus key.",
        args=(
            Arg("self_bond", "stake bonded from FROM's balance", flag="--self-bond"),
            Arg(
                "consensus_pub_key",
                "the node's priv_validator_key.json (default: HOME/config/priv_validator_key.json)",
                CONSENSUS_KEY_FILE,
                flag="--consensus-key-file",
                default=None,
            ),
            Arg(
                "commission_rate_bps", "10000 = 100 %", flag="--commission-rate-bps", default=1_000
            ),
            Arg(
                "max_commission_rate_bps",
                "the most the rate may ever be",
                flag="--max-commission-rate-bps",
                default=2_000,
            ),
            Arg(
                "max_commission_change_bps",
                "per change, at most one change a day",
                flag="--max-commission-change-bps",
                default=100,
            ),
            Arg("moniker", "public name, at most 70 bytes", flag="--moniker", default=""),
            Arg("details", "description, at most 280 bytes", flag="--details", default=""),
        ),
    ),
    TxCommand(
        module="staking",
        verb="edit-validator",
        msg=MsgEditValidator,
        help="Change the commission rate or description of the validator FROM operates.\n\n"
        "What is not given stays as the chain has it now.",
        args=(
            Arg(
                "commission_rate_bps",
                "new rate (default: unchanged)",
                flag="--commission-rate-bps",
                default=None,
            ),
            Arg("moniker", "default: unchanged", flag="--moniker", default=None),
            Arg("details", "default: unchanged", flag="--details", default=None),
        ),
        complete=keep_unchanged,
    ),
    TxCommand(
        module="staking",
        verb="delegate",
        msg=MsgDelegate,
        help="Bond AMOUNT from FROM's balance to VALIDATOR.",
        args=DELEGATION_ARGS,
    ),
    TxCommand(
        module="staking",
        verb="undelegate",
        msg=MsgUndelegate,
        help="Unbond AMOUNT of FROM's stake with VALIDATOR; it returns after the unbonding time.",
        args=DELEGATION_ARGS,
    ),
    TxCommand(
        module="staking",
        verb="redelegate",
        msg=MsgRedelegate,
        help="Move AMOUNT of FROM's stake from validator SRC to validator DST at once.",
        args=(
            Arg("src_validator", "the validator the stake leaves", metavar="SRC"),
            Arg("dst_validator", "the validator the stake moves to", metavar="DST"),
            Arg("amount", AMOUNT_HELP),
        ),
    ),
)


# --- query ----------------------------------------------------------------------------------------


def read_validator_answer(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    val, result = read_validator(
        client, given["operator"], opts.output, height=opts.height, prove=opts.prove
    )
    return {**validator_dict(val), "height": result.height, "verified": result.verified}


def read_delegation(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    operator, delegator = given["operator"], given["delegator"]
    result = client.query(
        "/staking/delegation", operator + delegator, height=opts.height, prove=opts.prove
    )
    # The validator at the same height, for the worth of the shares
    val, _ = read_validator(client, operator, opts.output, height=result.height, prove=opts.prove)
    shares = decode_delegation(result.value) if result.value else 0
    return {
        "validator": encode_address(operator),
        "delegator": encode_address(delegator),
        "shares": shares,
        "tokens": compute_tokens(val, shares),
        "height": result.height,
        "verified": result.verified,
    }


def read_delegations(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    """Every delegation of a delegator: a list query, so with --prove the list is proven whole."""
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    delegator = given["delegator"]
    answer = client.delegations(delegator, prove=opts.prove)
    rows = []
    for item in answer.items:
        # Each validator at the list's height, for the worth of the shares
        val, _ = read_validator(
            client, item.id, opts.output, height=answer.height, prove=opts.prove
        )
        shares = decode_delegation(item.value)
        rows.append(
            {
                "validator": encode_address(item.id),
                "shares": shares,
                "tokens": compute_tokens(val, shares),
            }
        )
    return {
        "delegator": encode_address(delegator),
        "delegations": rows,
        "height": answer.height,
        "verified": answer.verified,
    }


def render_delegations(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "delegations"})
    rows_table(
        [{**d, "tokens": format_uvox(d["tokens"])} for d in data["delegations"]],
        ["validator", "shares", "tokens"],
    )


OPERATOR = Arg("operator", VALIDATOR_HELP, ADDRESS)

QUERY_COMMANDS = (
    QueryCommand(
        module="staking",
        what="validator",
        help="A validator: stake, status, commission and description.",
        read=read_validator_answer,
        args=(OPERATOR,),
        amounts=("tokens",),
    ),
    QueryCommand(
        module="staking",
        what="delegation",
        help="A delegation: the delegator's shares of a validator and what they are worth in uvox.",
        read=read_delegation,
        args=(OPERATOR, Arg("delegator", "the delegator: vox1 address or key name", ADDRESS)),
        amounts=("tokens",),
    ),
    QueryCommand(
        module="staking",
        what="delegations",
        help="Every delegation of DELEGATOR; with --prove the list is proven complete.",
        read=read_delegations,
        args=(Arg("delegator", "the delegator: vox1 address or key name", ADDRESS),),
        render=render_delegations,
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
