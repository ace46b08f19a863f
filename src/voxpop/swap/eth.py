"""The Ethereum leg of a swap: the VoxpopHTLC contract (contracts/VoxpopHTLC.sol, compiled with
the pinned solc in tools/solc) driven with web3.py and our own key (no node-side accounts)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception

from voxpop.swap.legs import (
    LegStatus,
    LockRef,
    LockState,
    LockTerms,
    SwapLegError,
    TermsMismatchError,
    TimeoutKind,
    check_preimage,
)

ARTIFACT = "VoxpopHTLC.json"
_STATES = {1: LockState.LOCKED, 2: LockState.CLAIMED, 3: LockState.REFUNDED}
RECEIPT_TIMEOUT_S = 120.0


@cache
def load_artifact() -> dict[str, Any]:
    """The compiled contract shipped in the wheel: {"abi", "bytecode", "compiler", ...}."""
    text = resources.files("voxpop.swap").joinpath("contracts", ARTIFACT).read_text()
    artifact: dict[str, Any] = json.loads(text)
    return artifact


def eth_address(text: str) -> ChecksumAddress:
    """A checksummed 0x address. Raises SwapLegError."""
    if not Web3.is_address(text):
        raise SwapLegError("not an Ethereum address")
    return Web3.to_checksum_address(text)


def compute_lock_id(sender: str, recipient: str, hashlock: bytes) -> bytes:
    """The contract's lockId: sha256(sender 20 ‖ recipient 20 ‖ hashlock 32)."""
    raw = bytes.fromhex(eth_address(sender)[2:]) + bytes.fromhex(eth_address(recipient)[2:])
    return hashlib.sha256(raw + hashlock).digest()


def _ref_id(ref: LockRef) -> bytes:
    try:
        lock_id = bytes.fromhex(ref.removeprefix("0x"))
    except ValueError:
        lock_id = b""
    if len(lock_id) != 32:
        raise SwapLegError("an ETH lock reference is a 32-byte id in hex")
    return lock_id


def send_signed(w3: Web3, account: LocalAccount, call: Any, value: int = 0) -> str:
    """Sign a contract call (or a deployment) with our key, send it, wait for its receipt;
    return the tx hash. Raises SwapLegError if it reverts or is not mined in time."""
    try:
        tx = call.build_transaction(
            {
                "from": account.address,
                "value": value,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": w3.eth.chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    except (ContractCustomError, ContractLogicError) as exc:
        raise SwapLegError(f"the contract refused the call: {_revert_name(exc)}") from None
    except (Web3Exception, ValueError, OSError) as exc:
        raise SwapLegError(f"Ethereum node: {type(exc).__name__}: {exc}") from None
    if receipt["status"] != 1:
        raise SwapLegError(f"tx {tx_hash.to_0x_hex()} reverted")
    return str(tx_hash.to_0x_hex())


def _revert_name(exc: Exception) -> str:
    """The custom error's name (NoLock, Expired, ...) from its 4-byte selector, if known."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        for item in load_artifact()["abi"]:
            if item["type"] == "error":
                selector = Web3.keccak(text=f"{item['name']}()")[:4].hex()
                if data[2:10] == selector.removeprefix("0x"):
                    return str(item["name"])
    return str(exc)


def deploy_htlc(w3: Web3, private_key: bytes) -> str:
    """Deploy the shipped contract with `private_key`'s account; return its address."""
    artifact = load_artifact()
    account: LocalAccount = Account.from_key(private_key)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = send_signed(w3, account, factory.constructor())
    receipt = w3.eth.get_transaction_receipt(HexStr(tx_hash))
    return str(receipt["contractAddress"])


class EthLeg:
    """Locks ether in a deployed VoxpopHTLC with our own key."""

    def __init__(
        self, w3: Web3, contract_address: str, private_key: bytes, confirmations: int = 1
    ) -> None:
        self.w3 = w3
        self.account: LocalAccount = Account.from_key(private_key)
        self.contract: Contract = w3.eth.contract(
            address=eth_address(contract_address), abi=load_artifact()["abi"]
        )
        self._confirmations = confirmations

    @property
    def asset(self) -> str:
        return "ETH"

    @property
    def timeout_kind(self) -> TimeoutKind:
        return TimeoutKind.ABSOLUTE_TIME

    @property
    def confirmations_needed(self) -> int:
        return self._confirmations

    def address(self) -> str:
        return str(self.account.address)

    def now(self) -> int:
        """The latest block's timestamp: the clock the contract checks timelocks against."""
        try:
            return int(self.w3.eth.get_block("latest")["timestamp"])
        except (Web3Exception, OSError) as exc:
            raise SwapLegError(f"Ethereum node: {type(exc).__name__}: {exc}") from None

    def timeout_after(self, seconds: int) -> int:
        return self.now() + seconds

    def read_lock(self, lock_id: bytes) -> dict[str, Any] | None:
        try:
            fields = self.contract.functions.locks(lock_id).call()
        except (Web3Exception, OSError) as exc:
            raise SwapLegError(f"Ethereum node: {type(exc).__name__}: {exc}") from None
        sender, recipient, amount, hashlock, timelock, state, preimage = fields
        if state == 0:
            return None
        return {
            "sender": sender,
            "recipient": recipient,
            "amount": int(amount),
            "hashlock": bytes(hashlock),
            "timelock": int(timelock),
            "state": int(state),
            "preimage": bytes(preimage),
        }

    def lock(self, terms: LockTerms) -> LockRef:
        recipient = eth_address(terms.recipient)
        lock_id = compute_lock_id(self.account.address, recipient, terms.hashlock)
        existing = self.read_lock(lock_id)
        if existing is not None:  # sent before a restart: the same lock, or refuse
            if existing["amount"] != terms.amount:
                raise TermsMismatchError(f"lock 0x{lock_id.hex()} exists with other terms")
            return "0x" + lock_id.hex()
        call = self.contract.functions.lock(recipient, terms.hashlock, terms.timeout)
        send_signed(self.w3, self.account, call, value=terms.amount)
        return "0x" + lock_id.hex()

    def find_lock(self, terms: LockTerms) -> LockRef | None:
        recipient = eth_address(terms.recipient)
        if recipient != self.account.address:
            raise SwapLegError("the lock to find must pay our address")
        lock_id = compute_lock_id(terms.refund_address, recipient, terms.hashlock)
        lock = self.read_lock(lock_id)
        if lock is None:
            return None
        # Verify the lock pays what was agreed, for at least as long
        if lock["amount"] != terms.amount:
            raise TermsMismatchError(f"the lock holds {lock['amount']} wei, not {terms.amount}")
        if lock["timelock"] < terms.timeout:
            raise TermsMismatchError(f"the lock ends at {lock['timelock']}, before {terms.timeout}")
        return "0x" + lock_id.hex()

    def status(self, ref: LockRef) -> LegStatus:
        lock_id = _ref_id(ref)
        lock = self.read_lock(lock_id)
        if lock is None:
            return LegStatus(LockState.PENDING)
        claimed = lock["state"] == 2
        return LegStatus(
            state=_STATES[lock["state"]],
            confirmations=self._confirmations_of(lock_id),
            preimage=lock["preimage"] if claimed else None,
            deadline=lock["timelock"],
            seconds_left=max(0, lock["timelock"] - self.now()),
            amount=lock["amount"],
        )

    def _confirmations_of(self, lock_id: bytes) -> int:
        try:
            logs = self.contract.events.Locked().get_logs(
                from_block=0, argument_filters={"id": lock_id}
            )
            latest = self.w3.eth.block_number
        except (Web3Exception, OSError):
            return 0
        return latest - int(logs[0]["blockNumber"]) + 1 if logs else 0

    def claim(self, ref: LockRef, preimage: bytes) -> str:
        lock_id = _ref_id(ref)
        lock = self.read_lock(lock_id)
        if lock is None:
            raise SwapLegError(f"no ETH lock {ref}")
        check_preimage(preimage, lock["hashlock"])
        return send_signed(self.w3, self.account, self.contract.functions.claim(lock_id, preimage))

    def refund(self, ref: LockRef) -> str:
        call = self.contract.functions.refund(_ref_id(ref))
        return send_signed(self.w3, self.account, call)

    def can_refund(self, ref: LockRef) -> bool:
        lock = self.read_lock(_ref_id(ref))
        return lock is not None and lock["state"] == 1 and self.now() >= lock["timelock"]
