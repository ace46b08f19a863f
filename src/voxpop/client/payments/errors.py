"""Errors of the paying client (voxpop.client.payments), each with a stable `code`.

VoxClientError
  PaymentError                 base of every payment error
    SpendingCapError           the call would pass the owner's daily cap (overall or per service);
                               raised before anything is signed
    NoProviderError            no offer of that kind is usable (none listed, all down, slow or bad)
    PaymentRefusedError        the provider refused the request itself (400), so no other provider
                               is tried (`problem`: the provider's stable name)
    BadAnswerError             the provider answered, but not a paid answer: no receipt, a receipt
                               that does not verify, a wrong amount, or garbage; not counted as paid
    ProviderUnavailableError   one provider is down (connection refused, 5xx) or slow (timeout)
    LedgerError                the payer's ledger is unreadable or would go backwards
"""

from __future__ import annotations

from voxpop.client.errors import VoxClientError


class PaymentError(VoxClientError):
    code = "payment_error"


class SpendingCapError(PaymentError):
    """`cap` uvox per day for `scope` ("total" or a service kind); `spent` already today;
    `cost` the call's price."""

    code = "spending_cap"

    def __init__(self, scope: str, cap: int, spent: int, cost: int) -> None:
        super().__init__(
            f"a call costing {cost} uvox would pass the {scope} cap of {cap} uvox per day "
            f"({spent} spent today)"
        )
        self.scope = scope
        self.cap = cap
        self.spent = spent
        self.cost = cost


class NoProviderError(PaymentError):
    code = "no_provider_available"

    def __init__(self, kind: str, tried: dict[str, str] | None = None) -> None:
        self.tried = dict(tried or {})
        detail = "; ".join(f"{p}: {why}" for p, why in sorted(self.tried.items()))
        super().__init__(f"no usable {kind!r} provider" + (f" ({detail})" if detail else ""))
        self.kind = kind


class PaymentRefusedError(PaymentError):
    """The provider's 402: `problem` is its stable name (docs: the gateway's payment codes)."""

    code = "payment_refused"

    def __init__(self, problem: str, message: str, accepted: int | None = None) -> None:
        super().__init__(f"[{problem}] {message}")
        self.problem = problem
        self.accepted = accepted


class BadAnswerError(PaymentError):
    code = "bad_answer"


class ProviderUnavailableError(PaymentError):
    code = "provider_unavailable"


class LedgerError(PaymentError):
    code = "ledger_error"
