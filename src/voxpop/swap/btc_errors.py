"""Errors of the Bitcoin leg. Each has a stable machine-readable `code`.

SwapLegError (voxpop.swap.legs; WrongPreimageError and TermsMismatchError come from there too)
  BtcError
    BtcTermsError         lock terms the script cannot hold (hash length, key, CSV range, amount)
    BtcFundsError         our key's confirmed outputs do not cover amount + fee
    BtcLockNotFoundError  no output pays the HTLC address a ref or terms name
    BtcNotRefundableError a refund before the CSV timeout has passed (the node would refuse it)
    BtcAlreadySpentError  the HTLC output was already claimed or refunded
    BtcRpcError           the node refused a call or a transaction (its code and message kept)
    BtcUnreachableError   no answer from the node
"""

from __future__ import annotations

from voxpop.swap.legs import SwapLegError


class BtcError(SwapLegError):
    code = "btc_error"

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class BtcTermsError(BtcError):
    code = "btc_invalid_terms"


class BtcFundsError(BtcError):
    code = "btc_insufficient_funds"


class BtcLockNotFoundError(BtcError):
    code = "btc_lock_not_found"


class BtcNotRefundableError(BtcError):
    code = "btc_refund_too_early"


class BtcAlreadySpentError(BtcError):
    code = "btc_already_spent"


class BtcUnreachableError(BtcError):
    code = "btc_node_unreachable"


class BtcRpcError(BtcError):
    """The node answered a JSON-RPC call with an error: `rpc_code` and its message."""

    code = "btc_rpc_error"

    def __init__(self, method: str, rpc_code: int, message: str) -> None:
        super().__init__(f"{method}: {message} (rpc code {rpc_code})")
        self.method = method
        self.rpc_code = rpc_code
        self.rpc_message = message
