"""`voxpop tx staking|distribution|slashing`: the proof-of-stake messages, signed with a key of
the keyring.

VALIDATOR arguments name a validator by its operator: a vox1 address or a key in the keyring.
Every message is checked by the chain's own stateless validation before anything is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.module import Msg
from voxpop.chain.modules.distribution.messages import MsgClaimCommission, MsgClaimRewards
from voxpop.chain.modules.slashing.messages import MsgUnjail
from voxpop.chain.modules.staking.messages import (
    MsgCreateValidator,
    MsgDelegate,
    MsgEditValidator,
    MsgRedelegate,
    MsgUndelegate,
)
from voxpop.cli.keys import (
    HomeOption,
    KeyringBackendChoice,
    KeyringBackendOption,
    PassphraseFileOption,
)
from voxpop.cli.output import OutputFormat, OutputOption, fail
from voxpop.cli.query import NodeOption, client_errors, format_uvox, read_validator
from voxpop.cli.signing import (
    BroadcastModeChoice,
    FeeOption,
    MemoOption,
    ModeOption,
    Signer,
    broadcast_msgs,
    build_msg,
    load_signer,
    parse_amount_option,
    parse_fee_option,
    resolve_raw_address,
)
from voxpop.client import DEFAULT_SEND_GAS, VoxClient
from voxpop.crypto import encode_address
from voxpop.node.home import NodeHome, default_home
from voxpop.node.validator_key import ValidatorKeyError, load_validator_key

# As a send: the staking, distribution and slashing messages use 9,000 to 20,000 gas
DEFAULT_STAKING_GAS = DEFAULT_SEND_GAS

staking_tx_app = typer.Typer(
    no_args_is_help=True, help="Staking: create and edit validators, delegate stake."
)
distribution_tx_app = typer.Typer(no_args_is_help=True, help="Distribution: claim rewards.")
slashing_tx_app = typer.Typer(no_args_is_help=True, help="Slashing: unjail a validator.")

FromArgument = typer.Argument(..., metavar="FROM", help="name of the signing key")
ValidatorArgument = typer.Argument(
    ..., metavar="VALIDATOR", help="the validator's operator: vox1 address or key name"
)
AmountArgument = typer.Argument(
    ..., metavar="AMOUNT", help="e.g. 1.5vox, 1500000uvox, or 1500000 (uvox)"
)
GasOption = typer.Option(DEFAULT_STAKING_GAS, "--gas", min=1, help="gas limit")


def _sign_and_broadcast(
    signer: Signer,
    msg: Msg,
    fields: Mapping[str, Any],
    rows: Mapping[str, str],
    *,
    node: str,
    fee: str | None,
    gas: int,
    memo: str,
    mode: BroadcastModeChoice,
    fmt: OutputFormat,
) -> None:
    broadcast_msgs(
        signer,
        [msg],
        node=node,
        fee=parse_fee_option(fee, fmt),
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=fmt,
        extra={"type": msg.TYPE, **fields},
        rows={"type": msg.TYPE, **rows},
    )


@staking_tx_app.command("create-validator")
def create_validator(
    from_key: str = FromArgument,
    self_bond: str = typer.Option(..., "--self-bond", help="stake bonded from FROM's balance"),
    consensus_key_file: Path | None = typer.Option(
        None,
        "--consensus-key-file",
        help="the node's priv_validator_key.json (default: HOME/config/priv_validator_key.json)",
    ),
    commission_rate_bps: int = typer.Option(1_000, "--commission-rate-bps", help="10000 = 100 %"),
    max_commission_rate_bps: int = typer.Option(2_000, "--max-commission-rate-bps"),
    max_commission_change_bps: int = typer.Option(
        100, "--max-commission-change-bps", help="per change, at most one change a day"
    ),
    moniker: str = typer.Option("", "--moniker", help="public name, at most 70 bytes"),
    details: str = typer.Option("", "--details", help="description, at most 280 bytes"),
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Make FROM the operator of a new validator that signs with the node's consensus key."""
    # Verify every argument before asking for a passphrase or touching the network
    uvox = parse_amount_option(self_bond, "--self-bond", output)
    key_file = consensus_key_file or NodeHome(home or default_home()).priv_validator_key
    try:
        consensus_pub_key = load_validator_key(key_file).public_key.raw
    except ValidatorKeyError as exc:
        fail("invalid_consensus_key", str(exc), output)
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(
        MsgCreateValidator,
        {
            "operator": signer.raw_address,
            "consensus_pub_key": consensus_pub_key,
            "self_bond": uvox,
            "commission_rate_bps": commission_rate_bps,
            "max_commission_rate_bps": max_commission_rate_bps,
            "max_commission_change_bps": max_commission_change_bps,
            "moniker": moniker,
            "details": details,
        },
        output,
    )
    _sign_and_broadcast(
        signer,
        msg,
        {
            "operator": signer.address,
            "consensus_pub_key": consensus_pub_key.hex(),
            "self_bond": uvox,
        },
        {
            "operator": signer.address,
            "consensus key": consensus_pub_key.hex(),
            "self-bond": format_uvox(uvox),
        },
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


@staking_tx_app.command("edit-validator")
def edit_validator(
    from_key: str = FromArgument,
    commission_rate_bps: int | None = typer.Option(
        None, "--commission-rate-bps", help="new rate (default: unchanged)"
    ),
    moniker: str | None = typer.Option(None, "--moniker", help="default: unchanged"),
    details: str | None = typer.Option(None, "--details", help="default: unchanged"),
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Change the commission rate or description of the validator FROM operates.

    What is not given stays as the chain has it now.
    """
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    with client_errors(output), VoxClient(node) as client:
        current, _ = read_validator(client, signer.raw_address, output)
    msg = build_msg(
        MsgEditValidator,
        {
            "operator": signer.raw_address,
            "commission_rate_bps": (
                current.commission_rate_bps if commission_rate_bps is None else commission_rate_bps
            ),
            "moniker": current.moniker if moniker is None else moniker,
            "details": current.details if details is None else details,
        },
        output,
    )
    assert isinstance(msg, MsgEditValidator)
    _sign_and_broadcast(
        signer,
        msg,
        {
            "operator": signer.address,
            "commission_rate_bps": msg.commission_rate_bps,
            "moniker": msg.moniker,
            "details": msg.details,
        },
        {
            "operator": signer.address,
            "commission": f"{msg.commission_rate_bps} bps",
            "moniker": msg.moniker,
            "details": msg.details,
        },
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


def _delegation_command(
    cls: type[MsgDelegate] | type[MsgUndelegate],
    from_key: str,
    validator: str,
    amount: str,
    *,
    fee: str | None,
    gas: int,
    memo: str,
    mode: BroadcastModeChoice,
    node: str,
    home: Path | None,
    keyring_backend: KeyringBackendChoice,
    passphrase_file: Path | None,
    output: OutputFormat,
) -> None:
    # Verify every argument before asking for a passphrase or touching the network
    uvox = parse_amount_option(amount, "AMOUNT", output)
    operator = resolve_raw_address(validator, home, keyring_backend, output)
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(
        cls, {"delegator": signer.raw_address, "validator": operator, "amount": uvox}, output
    )
    _sign_and_broadcast(
        signer,
        msg,
        {"delegator": signer.address, "validator": encode_address(operator), "amount": uvox},
        {
            "delegator": signer.address,
            "validator": encode_address(operator),
            "amount": format_uvox(uvox),
        },
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


@staking_tx_app.command("delegate")
def delegate(
    from_key: str = FromArgument,
    validator: str = ValidatorArgument,
    amount: str = AmountArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Bond AMOUNT from FROM's balance to VALIDATOR."""
    _delegation_command(
        MsgDelegate,
        from_key,
        validator,
        amount,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        node=node,
        home=home,
        keyring_backend=keyring_backend,
        passphrase_file=passphrase_file,
        output=output,
    )


@staking_tx_app.command("undelegate")
def undelegate(
    from_key: str = FromArgument,
    validator: str = ValidatorArgument,
    amount: str = AmountArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Unbond AMOUNT of FROM's stake with VALIDATOR; it returns after the unbonding time."""
    _delegation_command(
        MsgUndelegate,
        from_key,
        validator,
        amount,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        node=node,
        home=home,
        keyring_backend=keyring_backend,
        passphrase_file=passphrase_file,
        output=output,
    )


@staking_tx_app.command("redelegate")
def redelegate(
    from_key: str = FromArgument,
    src: str = typer.Argument(..., metavar="SRC", help="the validator the stake leaves"),
    dst: str = typer.Argument(..., metavar="DST", help="the validator the stake moves to"),
    amount: str = AmountArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Move AMOUNT of FROM's stake from validator SRC to validator DST at once."""
    # Verify every argument before asking for a passphrase or touching the network
    uvox = parse_amount_option(amount, "AMOUNT", output)
    src_operator = resolve_raw_address(src, home, keyring_backend, output)
    dst_operator = resolve_raw_address(dst, home, keyring_backend, output)
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(
        MsgRedelegate,
        {
            "delegator": signer.raw_address,
            "src_validator": src_operator,
            "dst_validator": dst_operator,
            "amount": uvox,
        },
        output,
    )
    src_text, dst_text = encode_address(src_operator), encode_address(dst_operator)
    _sign_and_broadcast(
        signer,
        msg,
        {"delegator": signer.address, "src_validator": src_text, "dst_validator": dst_text},
        {"delegator": signer.address, "from": src_text, "to": dst_text},
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


@distribution_tx_app.command("claim-rewards")
def claim_rewards(
    from_key: str = FromArgument,
    validator: str = ValidatorArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Pay FROM its pending rewards from its delegation to VALIDATOR."""
    operator = resolve_raw_address(validator, home, keyring_backend, output)
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(
        MsgClaimRewards, {"delegator": signer.raw_address, "validator": operator}, output
    )
    fields = {"delegator": signer.address, "validator": encode_address(operator)}
    _sign_and_broadcast(
        signer,
        msg,
        fields,
        fields,
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


def _operator_command(
    cls: type[MsgClaimCommission] | type[MsgUnjail],
    from_key: str,
    *,
    fee: str | None,
    gas: int,
    memo: str,
    mode: BroadcastModeChoice,
    node: str,
    home: Path | None,
    keyring_backend: KeyringBackendChoice,
    passphrase_file: Path | None,
    output: OutputFormat,
) -> None:
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(cls, {"operator": signer.raw_address}, output)
    _sign_and_broadcast(
        signer,
        msg,
        {"operator": signer.address},
        {"operator": signer.address},
        node=node,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
    )


@distribution_tx_app.command("claim-commission")
def claim_commission(
    from_key: str = FromArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Pay the commission earned by the validator FROM operates."""
    _operator_command(
        MsgClaimCommission,
        from_key,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        node=node,
        home=home,
        keyring_backend=keyring_backend,
        passphrase_file=passphrase_file,
        output=output,
    )


@slashing_tx_app.command("unjail")
def unjail(
    from_key: str = FromArgument,
    fee: str | None = FeeOption,
    gas: int = GasOption,
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Bring the validator FROM operates back into the active set after its jail term."""
    _operator_command(
        MsgUnjail,
        from_key,
        fee=fee,
        gas=gas,
        memo=memo,
        mode=mode,
        node=node,
        home=home,
        keyring_backend=keyring_backend,
        passphrase_file=passphrase_file,
        output=output,
    )


__all__ = ["distribution_tx_app", "slashing_tx_app", "staking_tx_app"]
