"""Top accounts up from one funder in one tx (one sender, one sequence): how a devnet funds the
roles it starts from its dev account."""

from __future__ import annotations

from collections.abc import Sequence

from voxpop.client.errors import VoxClientError
from voxpop.client.sync import VoxClient
from voxpop.client.tx import msg_multi_send
from voxpop.crypto.keys import PrivateKey

FUND_GAS = 200_000


def top_up(
    node_url: str, funder: PrivateKey, accounts: Sequence[bytes], amount: int, what: str
) -> int:
    """Send `amount` uvox to each of `accounts` holding less than that, in one MultiSend from
    `funder`; returns how many were funded. Raises VoxClientError (naming `what`)."""
    with VoxClient(node_url) as client:
        outputs = [(a, amount) for a in accounts if client.balance(a) < amount]
        if not outputs:
            return 0
        send = msg_multi_send(funder.public_key.address, outputs)
        result = client.execute(funder, [send], gas_limit=FUND_GAS)
    if result.code != 0:
        raise VoxClientError(f"funding {what} failed: {result.log}")
    return len(outputs)
