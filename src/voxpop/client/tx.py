"""Build, sign and encode txs (the format is voxpop.chain.tx: canonical CBOR, Ed25519)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voxpop.chain.tx import TxBody, encode_tx, make_body
from voxpop.crypto.keys import PrivateKey

DEFAULT_SEND_GAS = 100_000
MSG_SEND = "bank/Send"
MSG_MULTI_SEND = "bank/MultiSend"

Message = tuple[str, Mapping[str, Any]]


def msg_send(sender: bytes, recipient: bytes, amount: int) -> Message:
    """A bank/Send message: `amount` uvox from `sender` (the signer) to `recipient` (20 bytes)."""
    return MSG_SEND, {"from": sender, "to": recipient, "amount": amount}


def msg_multi_send(sender: bytes, outputs: Sequence[tuple[bytes, int]]) -> Message:
    """A bank/MultiSend message paying each (recipient, amount) from `sender`, all or nothing."""
    return MSG_MULTI_SEND, {"from": sender, "outputs": [[to, n] for to, n in outputs]}


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
) -> TxBody:
    """The unsigned body of a tx."""
    return make_body(
        chain_id=chain_id,
        pub_key=pub_key,
        sequence=sequence,
        fee=fee,
        gas_limit=gas_limit,
        msgs=msgs,
        memo=memo,
        timeout_height=timeout_height,
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
