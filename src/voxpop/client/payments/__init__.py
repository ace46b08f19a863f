"""The paying client: find providers on chain, pay each call with a channel voucher, verify the
signed answer, keep receipts, fail over, and hold to the owner's spending caps.

    from voxpop.client import VoxClient
    from voxpop.client.payments import PayingClient, Policy

    with VoxClient(url) as vox, PayingClient(vox, key, ledger="payments.db") as payer:
        answer = payer.call("echo", b'{"q": "hi"}')

See docs/client.md (Payments).
"""

from voxpop.client.payments.aio import AsyncPayingClient
from voxpop.client.payments.client import PaidAnswer, PayingClient
from voxpop.client.payments.errors import (
    BadAnswerError,
    LedgerError,
    NoProviderError,
    PaymentError,
    PaymentRefusedError,
    ProviderUnavailableError,
    SpendingCapError,
)
from voxpop.client.payments.ledger import ChannelRecord, Ledger, StoredReceipt
from voxpop.client.payments.offers import Candidate, fetch_candidates
from voxpop.client.payments.policy import Policy, Weights
from voxpop.client.payments.selection import Selector
from voxpop.client.payments.wire import BadAudioError, Problem, check_receipt, price_units

__all__ = [
    "AsyncPayingClient",
    "BadAnswerError",
    "BadAudioError",
    "Candidate",
    "ChannelRecord",
    "Ledger",
    "LedgerError",
    "NoProviderError",
    "PaidAnswer",
    "PayingClient",
    "PaymentError",
    "PaymentRefusedError",
    "Policy",
    "Problem",
    "ProviderUnavailableError",
    "Selector",
    "SpendingCapError",
    "StoredReceipt",
    "Weights",
    "check_receipt",
    "fetch_candidates",
    "price_units",
]
