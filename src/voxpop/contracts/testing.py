"""Test a contract against a real solo node (`voxpop contract test` and the template use it).

    with ContractChain.start(tmp_path / "node") as chain:
        code_id = chain.store("alice", build_contract(project))
        counter = chain.instantiate("alice", code_id, {"count": 5})
        chain.execute("bob", counter, {"add": {"by": 2}})
        assert chain.query(counter, {"count": {}}) == {"count": 7}

The accounts are named test keys (derived from their names, so never hold real funds with them),
each funded at genesis. A failed tx raises ContractTxError with the chain's code and log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxpop.chain.abci import Event
from voxpop.chain.module import Msg
from voxpop.chain.modules.wasm.messages import MsgExecute, MsgInstantiate, MsgStoreCode
from voxpop.client.errors import TxRejectedError
from voxpop.client.sync import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto.address import decode_address, encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.service import BroadcastResult

ACCOUNTS = ("alice", "bob", "carol", "dave", "erin")
FUNDS = 10**12  # uvox each test account holds at genesis
# Storing code is paid by its size; the rest are small calls
STORE_GAS = 10_000_000  # the chain's max gas per tx (auth params)
CALL_GAS = 2_000_000
# A node answers in a few seconds; a machine busy with other builds can take several times that
START_TIMEOUT = 90.0


class ContractTxError(Exception):
    """A tx failed (its code and log: check_tx refused it, or it ran and failed), or returned
    without what it should have created."""

    def __init__(self, code: int, log: str) -> None:
        super().__init__(f"tx failed with code {code}: {log}")
        self.code = code
        self.log = log


def account_key(name: str) -> PrivateKey:
    """The key of a named test account: fixed by its name, for tests only."""
    return PrivateKey(hashlib.sha256(b"voxpop contract test account " + name.encode()).digest())


def _attr(events: Sequence[Event], kind: str, key: str) -> str:
    """`key` of the tx's `kind` event (the module's own: a contract's events are `wasm-*`)."""
    for event in events:
        value = event.attr(key) if event.type == kind else None
        if value is not None:
            return value
    raise ContractTxError(0, f"no {kind} event with {key!r}")


@dataclass
class ContractChain:
    node: LocalNode
    client: VoxClient
    keys: dict[str, PrivateKey] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def start(
        cls,
        home: Path,
        accounts: Sequence[str] = ACCOUNTS,
        funds: int = FUNDS,
        timeout: float = START_TIMEOUT,
    ) -> Iterator[ContractChain]:
        """A solo node on `home` with each named account funded; stopped on exit. Raises
        LocalNodeError if it does not answer within `timeout` seconds."""
        keys = {name: account_key(name) for name in accounts}
        balances = {encode_address(k.public_key.address): funds for k in keys.values()}
        with (
            LocalNode.start(home, funds=balances, timeout=timeout) as node,
            VoxClient(node.url) as client,
        ):
            yield cls(node, client, keys)

    def address(self, who: str) -> str:
        """The address of a named account, or `who` itself if it is already an address."""
        key = self.keys.get(who)
        return who if key is None else encode_address(key.public_key.address)

    def tx(self, signer: str, msgs: Sequence[Msg], gas: int = CALL_GAS) -> BroadcastResult:
        """Sign `msgs` as the named account, wait for the block; raise ContractTxError if the
        tx failed."""
        try:
            result = self.client.execute(self.keys[signer], msgs, gas_limit=gas, mode="commit")
        except TxRejectedError as exc:
            raise ContractTxError(exc.numeric_code or 0, str(exc)) from None
        if result.code != 0:
            raise ContractTxError(result.code, result.log)
        return result

    def _me(self, signer: str) -> bytes:
        return self.keys[signer].public_key.address

    def store(self, signer: str, wasm: bytes | Path) -> int:
        code = wasm.read_bytes() if isinstance(wasm, Path) else wasm
        result = self.tx(signer, [MsgStoreCode(self._me(signer), code)], gas=STORE_GAS)
        return int(_attr(result.events, "wasm_store_code", "code_id"))

    def instantiate(
        self,
        signer: str,
        code_id: int,
        msg: Any,
        *,
        funds: int = 0,
        label: str = "test",
        admin: str | None = None,
    ) -> str:
        """The new contract's address."""
        admin_bytes = b"" if admin is None else decode_address(self.address(admin))
        made = MsgInstantiate(self._me(signer), code_id, admin_bytes, label, _json(msg), funds)
        return _attr(self.tx(signer, [made]).events, "wasm_instantiate", "contract")

    def execute(self, signer: str, contract: str, msg: Any, *, funds: int = 0) -> BroadcastResult:
        call = MsgExecute(self._me(signer), decode_address(contract), _json(msg), funds)
        return self.tx(signer, [call])

    def query(self, contract: str, msg: Any) -> Any:
        """The contract's answer to a smart query, parsed from its JSON."""
        answer = self.client.query("/wasm/smart", decode_address(contract) + _json(msg))
        return json.loads(answer.value)

    def balance(self, who: str) -> int:
        return self.client.balance(self.address(who))

    def send(self, signer: str, to: str, amount: int) -> None:
        result = self.client.send(self.keys[signer], self.address(to), amount, mode="commit")
        if result.code != 0:
            raise ContractTxError(result.code, result.log)


def _json(msg: Any) -> bytes:
    """A message as JSON text; bytes pass as they are (to send what json.dumps never writes)."""
    if isinstance(msg, bytes):
        return msg
    return json.dumps(msg, separators=(",", ":")).encode()
