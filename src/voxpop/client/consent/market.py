"""The owner's agent in the data market (issue 14, M13 + M20): one `step` reads the open offers
of every kind the policy shares (proven complete), answers each new one by the policy (logging
the decision and why), makes the grant for the objects it accepts, and settles every object the
buyer has accessed (a counted access: the buyer's signed request answered by m nodes), so the
escrow pays the owner. `run` repeats it. Nothing here acts outside the policy: with no policy
file, or `auto = false`, offers are only logged.

An offer is answered once (its decision is in the log); objects labelled later are offered to
the next new offer. A grant lasts until min(now + the offer's access_seconds, the latest the
offer lets a grant end), and allows two accesses per object (a retry after a node failed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voxpop.chain.modules.market.state import Offer
from voxpop.client.consent.decisions import DecisionLog
from voxpop.client.consent.errors import ConsentClientError
from voxpop.client.consent.grants import GrantTerms, check_tx, create_grant
from voxpop.client.consent.marketview import counted_accesses, fetch_sale, offers_of_kind
from voxpop.client.consent.policy import OfferTerms, decide, load_policy
from voxpop.client.errors import VoxClientError
from voxpop.client.storage.errors import DataError
from voxpop.client.storage.pipeline import DataVault
from voxpop.crypto.address import encode_address

log = logging.getLogger("voxpop.consent")
SETTLE_GAS = 300_000
MAX_SETTLE = 64  # objects per market/Settle (the message's bound)
ACCESSES_PER_OBJECT = 2


@dataclass
class StepReport:
    decided: list[str] = field(default_factory=list)  # offer ids answered in this step
    granted: list[str] = field(default_factory=list)  # grant ids made
    settled: int = 0  # objects settled
    errors: list[str] = field(default_factory=list)


def offer_terms(offer_id: bytes, offer: Offer) -> OfferTerms:
    return OfferTerms(
        offer_id=offer_id,
        buyer=encode_address(offer.buyer),
        kind=offer.kind,
        language=offer.language,
        min_seconds=offer.min_seconds,
        max_seconds=offer.max_seconds,
        purpose=offer.purpose,
        price=offer.price,
        access_seconds=offer.access_seconds,
        max_objects=offer.max_objects,
        remaining=offer.max_objects - offer.settled,
        expires=offer.expires,
    )


class MarketAgent:
    def __init__(
        self, vault: DataVault, home: Path, clock: Callable[[], float] = time.time
    ) -> None:
        self.vault = vault
        self.home = Path(home)
        self.log = DecisionLog(home)
        self.clock = clock

    def step(self) -> StepReport:
        report = StepReport()
        policy = load_policy(self.home)
        handled = self.log.handled_offers()
        for kind in policy.kinds:
            for offer_id, offer in offers_of_kind(self.vault.vox, kind):
                if offer_id.hex() in handled:
                    continue
                self.answer(offer_id, offer, report)
        self.settle(report)
        return report

    def answer(self, offer_id: bytes, offer: Offer, report: StepReport) -> None:
        """Decide on one new offer by the policy, log it, and grant what it accepts."""
        policy = load_policy(self.home)
        now = int(self.clock())
        terms = offer_terms(offer_id, offer)
        decision = decide(
            policy,
            terms,
            self.vault.index.entries(),
            self.log.sold_to(offer_id),
            self.log.grant_history(),
            now,
        )
        accept = decision.accept and policy.auto
        reasons = list(decision.reasons)
        if decision.accept and not policy.auto:
            reasons.append("not granted: the policy's auto is false")
        self.log.append(
            "offer",
            now,
            offer=offer_id.hex(),
            buyer=terms.buyer,
            price=offer.price,
            purpose=offer.purpose,
            accept=accept,
            objects=list(decision.objects) if accept else [],
            reasons=reasons,
        )
        report.decided.append(offer_id.hex())
        if not accept:
            return
        objects = tuple(bytes.fromhex(o) for o in decision.objects)
        grant = GrantTerms(
            grantee=offer.buyer,
            purpose=offer.purpose,
            expiry=min(now + offer.access_seconds, offer.grant_ends_by()),
            max_accesses=ACCESSES_PER_OBJECT * len(objects),
            object_ids=objects,
            offer_id=offer_id,
        )
        try:
            result = create_grant(self.vault, grant)
        except (ConsentClientError, DataError, VoxClientError) as exc:
            message = getattr(exc, "message", str(exc))
            self.log.append("error", now, offer=offer_id.hex(), error=f"grant: {message}")
            report.errors.append(message)
            return
        self.log.append(
            "grant",
            now,
            grant=result.grant_id.hex(),
            grantee=terms.buyer,
            offer=offer_id.hex(),
            objects=list(decision.objects),
            price=offer.price,
            expiry=grant.expiry,
            undelivered=result.failed,
        )
        report.granted.append(result.grant_id.hex())

    def settle(self, report: StepReport) -> None:
        """market/Settle every object of a sale grant the buyer accessed and not yet settled."""
        settled = {
            (r["offer"], o) for r in self.log.records("settle") for o in r.get("objects", [])
        }
        for record in self.log.records("grant"):
            offer_hex = record.get("offer", "")
            if not offer_hex:
                continue
            grant_id, offer_id = bytes.fromhex(record["grant"]), bytes.fromhex(offer_hex)
            due = [
                bytes.fromhex(o)
                for o in record["objects"]
                if (offer_hex, o) not in settled
                and fetch_sale(self.vault.vox, offer_id, bytes.fromhex(o)) is None
                and counted_accesses(self.vault.vox, grant_id, bytes.fromhex(o)) > 0
            ]
            for start in range(0, len(due), MAX_SETTLE):
                chunk = due[start : start + MAX_SETTLE]
                try:
                    self.settle_chunk(offer_id, grant_id, chunk)
                except (ConsentClientError, VoxClientError) as exc:
                    message = getattr(exc, "message", str(exc))
                    self.log.append("error", int(self.clock()), offer=offer_hex, error=message)
                    report.errors.append(message)
                    continue
                self.log.append(
                    "settle",
                    int(self.clock()),
                    offer=offer_hex,
                    grant=record["grant"],
                    objects=[o.hex() for o in chunk],
                    amount=record.get("price", 0) * len(chunk),
                )
                report.settled += len(chunk)

    def settle_chunk(self, offer_id: bytes, grant_id: bytes, object_ids: list[bytes]) -> None:
        msg = (
            "market/Settle",
            {
                "seller": self.vault.owner,
                "offer_id": offer_id,
                "grant_id": grant_id,
                "object_ids": object_ids,
            },
        )
        result = self.vault.vox.execute(
            self.vault.account, [msg], gas_limit=SETTLE_GAS, mode="commit"
        )
        check_tx(result, "market/Settle")

    def run(self, interval: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Step every `interval` seconds until `stop()`; a failed step is logged and retried."""
        while not stop():
            try:
                report = self.step()
                if report.decided or report.settled:
                    log.info("market step: %s", report)
            except (ConsentClientError, VoxClientError, DataError) as exc:
                log.warning("market step failed: %s", getattr(exc, "message", exc))
            time.sleep(interval)
