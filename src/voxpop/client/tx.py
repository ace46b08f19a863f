"""Build, sign and encode txs (the format is voxpop.chain.tx: canonical CBOR, Ed25519)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voxpop.chain.tx import TxBody, encode_tx, make_body
from voxpop.crypto.keys import PrivateKey

DEFAULT_SEND_GAS = 100_000
MSG_SEND = "bank/Send"
MSG_MULTI_SEND = "bank/MultiSend"
MSG_AUTHZ_GRANT = "authz/Grant"
MSG_AUTHZ_REVOKE = "authz/Revoke"
MSG_AUTHZ_EXEC = "authz/Exec"
MSG_FEEGRANT_GRANT = "feegrant/Grant"
MSG_FEEGRANT_REVOKE = "feegrant/Revoke"

Message = tuple[str, Mapping[str, Any]]


def msg_send(sender: bytes, recipient: bytes, amount: int) -> Message:
    """A bank/Send message: `amount` uvox from `sender` (the signer) to `recipient` (20 bytes)."""
    return MSG_SEND, {"from": sender, "to": recipient, "amount": amount}


def msg_multi_send(sender: bytes, outputs: Sequence[tuple[bytes, int]]) -> Message:
    """A bank/MultiSend message paying each (recipient, amount) from `sender`, all or nothing."""
    return MSG_MULTI_SEND, {"from": sender, "outputs": [[to, n] for to, n in outputs]}


def msg_authz_grant(
    granter: bytes,
    grantee: bytes,
    msg_type: str,
    *,
    spend_limit: int = 0,
    period_seconds: int = 0,
    period_limit: int = 0,
    expiration: int = 0,
    max_uses: int = 0,
) -> Message:
    """An authz/Grant: `grantee` may send `msg_type` messages for `granter` (the signer).

    Limits of 0 mean none; spend limits apply to types that declare what they spend (bank/Send,
    channels/Open, channels/TopUp, skills/Settle)."""
    return MSG_AUTHZ_GRANT, {
        "granter": granter,
        "grantee": grantee,
        "msg_type": msg_type,
        "spend_limit": spend_limit,
        "period_seconds": period_seconds,
        "period_limit": period_limit,
        "expiration": expiration,
        "max_uses": max_uses,
    }


def msg_authz_revoke(granter: bytes, grantee: bytes, msg_type: str) -> Message:
    """An authz/Revoke of `granter`'s grant of `msg_type` to `grantee`."""
    return MSG_AUTHZ_REVOKE, {"granter": granter, "grantee": grantee, "msg_type": msg_type}


def msg_authz_exec(grantee: bytes, msgs: Sequence[Message]) -> Message:
    """An authz/Exec: `grantee` (the signer) runs `msgs`, each signed in it by its granter."""
    return MSG_AUTHZ_EXEC, {
        "grantee": grantee,
        "msgs": [{"type": t, "value": dict(v)} for t, v in msgs],
    }


def msg_feegrant_grant(
    granter: bytes,
    grantee: bytes,
    *,
    spend_limit: int = 0,
    period_seconds: int = 0,
    period_limit: int = 0,
    expiration: int = 0,
    allowed_msgs: Sequence[str] = (),
) -> Message:
    """A feegrant/Grant: `granter` pays the fees of `grantee`'s txs that name it as fee granter."""
    return MSG_FEEGRANT_GRANT, {
        "granter": granter,
        "grantee": grantee,
        "spend_limit": spend_limit,
        "period_seconds": period_seconds,
        "period_limit": period_limit,
        "expiration": expiration,
        "allowed_msgs": list(allowed_msgs),
    }


def msg_feegrant_revoke(granter: bytes, grantee: bytes) -> Message:
    """A feegrant/Revoke of `granter`'s fee allowance for `grantee`."""
    return MSG_FEEGRANT_REVOKE, {"granter": granter, "grantee": grantee}


def build_tx(
    *,
    chain_id: str,
    pub_key: bytes,
    sequence: int,
    msgs: Sequence[Message],
    fee: int,
    gas_limit: int,
    memo: str = "",
    timeout_height: int = 0,
    fee_granter: bytes = b"",
) -> TxBody:
    """The unsigned body of a tx. `fee_granter`: an account whose fee allowance pays the fee."""
    return make_body(
        chain_id=chain_id,
        pub_key=pub_key,
        sequence=sequence,
        fee=fee,
        gas_limit=gas_limit,
        msgs=msgs,
        memo=memo,
        timeout_height=timeout_height,
        fee_granter=fee_granter,
    )


def sign_tx(body: TxBody, key: PrivateKey) -> bytes:
    """The signed tx bytes, ready to broadcast. Raises ValueError if `key` is not the body's key."""
    # Verify the body names the key that signs it: the chain checks the signature against it
    if body.pub_key != key.public_key.raw:
        raise ValueError("the tx body's pub_key is not the signing key's public key")
    return encode_tx(body, key.sign(body.sign_bytes()))


def compute_min_fee(gas_limit: int, price_num: int, price_den: int) -> int:
    """The smallest fee the chain accepts: ceil(gas_limit * num / den) uvox."""
    if price_den <= 0:
        raise ValueError("the gas price denominator must be positive")
    return -(-gas_limit * price_num // price_den)


# Fee estimation from the fee market's base price (docs/protocol/fees.md). A price is uvox per gas
# times PRICE_SCALE (10^12), as the chain keeps it.
PRICE_SCALE = 10**12
# Above the floor the base price may rise while a tx waits: cover two full blocks at the default
# step (1/8 each): (9/8)^2
FEE_MARGIN = (81, 64)
# Above the floor blocks are full and precedence goes by tip: offer a tenth of the base price
DEFAULT_TIP_SHARE = (1, 10)


def estimate_fee(
    gas_limit: int,
    base_price: int,
    floor_price: int,
    min_fee: int,
    *,
    margin: tuple[int, int] = FEE_MARGIN,
    tip_price: int | None = None,
) -> int:
    """A fee that gets `gas_limit` into a block without the user thinking about it (prices in
    uvox per gas x PRICE_SCALE; `min_fee`: auth's minimum fee for `gas_limit`).

    At the floor the chain is not congested: the base price stays there and a tip buys nothing,
    so the fee is the base charge (at least `min_fee`), plus a tip only if `tip_price` asks.
    Above the floor: the base price times `margin` (two blocks of the largest rise) plus a tip of
    `tip_price` per gas (default a tenth of the base price). Pass a fee to override all of it.
    """
    # Verify sane inputs (the chain refuses a fee beyond 64 bits anyway)
    if min(gas_limit, base_price, floor_price, min_fee) < 0 or not 0 < margin[1] <= margin[0]:
        raise ValueError("gas, prices and min_fee must be non-negative, margin at least 1")
    if base_price <= floor_price:
        return max(min_fee, _charge(gas_limit, base_price)) + _charge(gas_limit, tip_price or 0)
    if tip_price is None:
        tip_price = base_price * DEFAULT_TIP_SHARE[0] // DEFAULT_TIP_SHARE[1]
    covered = -(-base_price * margin[0] // margin[1])
    return max(min_fee, _charge(gas_limit, covered)) + _charge(gas_limit, tip_price)


def _charge(gas_limit: int, price: int) -> int:
    return -(-gas_limit * price // PRICE_SCALE)
