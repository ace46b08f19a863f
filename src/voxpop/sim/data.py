"""Data sales: households that opt in sell their backup's voice samples through the market.

Every step that reaches the chain is a real tx through the consent and market modules:

- a **buyer** posts one `market/Post` a month (the whole budget escrowed), and closes the
  previous month's offer (`market/Close`: the rest of its escrow back) once it may;
- a **selling household** (one that keeps a backup and opts in) answers the month's offer in its
  own block with a `consent/Grant` of its live backup object to the buyer, naming the offer and
  the privacy nodes;
- the buyer's access is what pays: in the next block the buyer has signed one access request per
  granted object and m **privacy nodes** (`reencrypt` services offers) each post their signed
  answer in `consent/Record` txs (the re-encryption itself is off chain and is not modelled: the
  chain only sees the signed attestations, which are real);
- in the block after, the seller's `market/Settle` holds the price until the dispute window ends;
  the market's begin-block pays it (`market_paid`): that is a household's data income.

The privacy nodes' own price for re-encrypting is paid off chain (a services call) and left out.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voxpop.chain.abci import Event
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.market import state as market_state
from voxpop.crypto import consent as crypto
from voxpop.crypto.keys import PrivateKey
from voxpop.sim.actors import Household, actor_key
from voxpop.sim.chain import PendingTx, SimChain
from voxpop.sim.errors import SimConfigError
from voxpop.sim.params import BPS, DAY, SimParams

if TYPE_CHECKING:
    from collections.abc import Callable

GAS_POST = 300_000
GAS_GRANT = 400_000
GAS_RECORD = 150_000
GAS_PER_RECORD = 40_000  # a record's two signature checks and writes, over GAS_RECORD
GAS_SETTLE = 300_000
MAX_RECORDS = 32  # consent's max_records_per_tx default
GRANTEE_GRANTS = 1_024  # consent lists at most this many grants per grantee (chain.listing)
PURPOSE = "asr-training"
# A valid compressed secp256k1 point (the generator) for the grant's Umbral keys: the chain
# stores them, the re-encryption that would use them is off chain
UMBRAL_PK = crypto.umbral_public(
    bytes.fromhex("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798")
).to_compressed_bytes()


@dataclass(slots=True)
class Offer:
    offer_id: bytes
    expires: int
    closes_at: int


@dataclass(slots=True)
class Buyer:
    index: int
    key: PrivateKey
    address: bytes
    sellers: int = 0  # households assigned to it
    current: Offer | None = None  # the month's offer, once its Post is committed
    posted: Offer | None = None  # posted in the block being built
    to_close: list[Offer] = field(default_factory=list)


@dataclass(slots=True)
class Access:
    household: Household
    grant_id: bytes
    object_id: bytes
    offer_id: bytes


@dataclass
class DataMarket:
    params: SimParams
    chain: SimChain
    buyers: list[Buyer]
    nodes: list[PrivateKey]
    sellers: dict[bytes, Buyer]  # a selling household's address -> its buyer
    by_text: dict[str, Household]  # a selling household's address as events name it
    offers: int = 0
    nonces: int = 0
    granted: list[Access] = field(default_factory=list)  # this block's grants
    to_access: list[Access] = field(default_factory=list)
    accessed: list[Access] = field(default_factory=list)  # this block's records
    to_settle: list[Access] = field(default_factory=list)
    paid_month: int = 0
    sales_month: int = 0

    @classmethod
    def create(cls, p: SimParams, chain: SimChain, households: list[Household]) -> DataMarket:
        buyers = [
            Buyer(i, k, k.public_key.address)
            for i, k in enumerate(actor_key(p.seed, "data-buyer", i) for i in range(p.data_buyers))
        ]
        nodes = [actor_key(p.seed, "privacy-node", i) for i in range(p.privacy_nodes)]
        # A stream of its own: opting in to sell changes no other household choice of the seed
        rng = random.Random(f"voxpop-sim/{p.seed}/sells-data")
        sellers: dict[bytes, Buyer] = {}
        for h in households:
            if rng.randrange(BPS) < p.sell_data_bps and h.stores and buyers:
                buyer = buyers[len(sellers) % len(buyers)]
                buyer.sellers += 1
                sellers[h.address] = buyer
        limit = market_state.MarketParams().max_objects_per_offer
        # Verify each buyer's monthly offer can pay every seller assigned to it, and the buyer
        # can receive every grant of the run: consent lists at most 1,024 grants per grantee,
        # and grants are kept
        offers = -(-p.days // p.month_days)
        most = max((b.sellers for b in buyers), default=0)
        if most > limit or most * offers > GRANTEE_GRANTS:
            need = max(-(-len(sellers) // limit), -(-len(sellers) * offers // GRANTEE_GRANTS))
            raise SimConfigError(
                "data_buyers",
                f"{len(sellers)} selling households over {offers} monthly offers need at least "
                f"{need} data buyers (an offer pays for at most {limit} objects; a buyer "
                f"receives at most {GRANTEE_GRANTS} grants)",
            )
        by_text = {addr_text(h.address): h for h in households if h.address in sellers}
        return cls(p, chain, buyers, nodes, sellers, by_text)

    @staticmethod
    def genesis_accounts(p: SimParams) -> list[tuple[bytes, int]]:
        buyers = [actor_key(p.seed, "data-buyer", i) for i in range(p.data_buyers)]
        nodes = [actor_key(p.seed, "privacy-node", i) for i in range(p.privacy_nodes)]
        return [(k.public_key.address, p.data_buyer_balance) for k in buyers] + [
            (k.public_key.address, p.services_min_stake + 100 * 1_000_000) for k in nodes
        ]

    # --- genesis ---------------------------------------------------------------------------------

    def register_nodes(self) -> list[PendingTx]:
        p = self.params
        txs = []
        for node in self.nodes:
            msg = (
                "services/Register",
                {
                    "provider": node.public_key.address,
                    "kind": "reencrypt",
                    "endpoint": f"https://r{node.public_key.address.hex()[:8]}.example",
                    "price": 1,
                    "languages": [],
                    "signing_key": node.public_key.raw,
                    "stake": p.services_min_stake,
                },
            )
            txs.append(self.chain.tx(node, [msg], GAS_POST))
        return txs

    # --- each block ------------------------------------------------------------------------------

    def block_txs(self, day: int, hour: int) -> list[PendingTx]:
        """The buyers' posts (a month's first block) and closes; the pipeline's records and
        settlements of what the previous blocks granted."""
        txs: list[PendingTx] = []
        if hour == 0 and day % self.params.month_days == 0:
            txs += [self._post(b) for b in self.buyers if b.sellers]
        txs += self._close_due()
        txs += self._records()
        txs += self._settles()
        return txs

    def _post(self, buyer: Buyer) -> PendingTx:
        p = self.params
        offer_id = hashlib.sha256(b"voxpop-sim/offer" + self.offers.to_bytes(8, "big")).digest()
        self.offers += 1
        now = self.chain.time + p.block_seconds  # the block it lands in
        expires = now + (p.month_days - 1) * DAY
        access = DAY
        closes_at = expires + access + market_state.MarketParams().settle_seconds
        buyer.posted = Offer(offer_id, expires, closes_at)
        msg = (
            "market/Post",
            {
                "buyer": buyer.address,
                "offer_id": offer_id,
                "kind": "utterance",
                "language": "en",
                "min_seconds": 1,
                "max_seconds": 30,
                "purpose": PURPOSE,
                "price": p.data_price,
                "access_seconds": access,
                "max_objects": buyer.sellers,
                "budget": p.data_price * buyer.sellers,
                "expires": expires,
            },
        )
        return self.chain.tx(buyer.key, [msg], GAS_POST)

    def _close_due(self) -> list[PendingTx]:
        txs = []
        for buyer in self.buyers:
            keep = []
            for offer in buyer.to_close:
                stored = market_state.find_offer(self.chain.app.committed, offer.offer_id)
                if self.chain.time >= offer.closes_at and stored is not None and not stored.held:
                    msg = ("market/Close", {"buyer": buyer.address, "offer_id": offer.offer_id})
                    txs.append(self.chain.tx(buyer.key, [msg], GAS_POST))
                else:
                    keep.append(offer)
            buyer.to_close = keep
        return txs

    def grant(
        self, h: Household, deal_live: bool, afford: Callable[[int], None]
    ) -> PendingTx | None:
        """The household's grant to its buyer's current offer, if it sells, holds a live backup
        object and has not answered this offer yet."""
        buyer = self.sellers.get(h.address)
        if buyer is None or buyer.current is None or h.deal is None or not deal_live:
            return None
        offer = buyer.current
        if (
            h.sold_offer == offer.offer_id
            or self.chain.time + self.params.block_seconds >= offer.expires
        ):
            return None
        h.sold_offer = offer.offer_id
        grant_id = hashlib.sha256(b"voxpop-sim/grant" + h.address + offer.offer_id).digest()
        object_id = h.deal
        entry = [
            object_id,
            hashlib.sha256(b"capsule" + object_id).digest(),
            hashlib.sha256(b"content" + object_id).digest(),
        ]
        msg = (
            "consent/Grant",
            {
                "owner": h.address,
                "grant_id": grant_id,
                "grantee": buyer.address,
                "purpose": PURPOSE,
                "expiry": offer.expires,
                "max_accesses": 4,
                "objects": [entry],
                "objects_root": b"",
                "object_count": 1,
                "nodes": [n.public_key.address for n in self.nodes],
                "threshold": self.params.privacy_threshold,
                "delegating_pk": UMBRAL_PK,
                "verifying_pk": UMBRAL_PK,
                "offer_id": offer.offer_id,
            },
        )
        afford(self.chain.fee_for(GAS_GRANT))
        self.granted.append(Access(h, grant_id, object_id, offer.offer_id))
        return self.chain.tx(h.key, [msg], GAS_GRANT)

    def _records(self) -> list[PendingTx]:
        """The buyer's requests for last block's grants, answered by m nodes, recorded."""
        if not self.to_access:
            return []
        height = self.chain.height
        records: list[list[bytes]] = []
        for a in self.to_access:
            buyer = self.sellers[a.household.address]
            self.nonces += 1
            request = crypto.sign_access_request(
                buyer.key, a.grant_id, a.object_id, self.nonces.to_bytes(16, "big"), self.chain.time
            )
            records.append([request])
        txs = []
        for node in self.nodes[: self.params.privacy_threshold]:
            batch: list[list[bytes]] = []
            for (request,), a in zip(records, self.to_access, strict=True):
                opened, _ = crypto.open_access_request(request)
                cfrag = hashlib.sha256(b"cfrag" + node.public_key.raw + opened.request_id).digest()
                answer = crypto.sign_answer(
                    node, a.grant_id, a.object_id, opened.request_id, cfrag, height
                )
                batch.append([answer, request])
            for start in range(0, len(batch), MAX_RECORDS):
                part = batch[start : start + MAX_RECORDS]
                msg = ("consent/Record", {"node": node.public_key.address, "records": part})
                txs.append(self.chain.tx(node, [msg], GAS_RECORD + GAS_PER_RECORD * len(part)))
        self.accessed, self.to_access = self.to_access, []
        return txs

    def _settles(self) -> list[PendingTx]:
        txs = []
        for a in self.to_settle:
            msg = (
                "market/Settle",
                {
                    "seller": a.household.address,
                    "offer_id": a.offer_id,
                    "grant_id": a.grant_id,
                    "object_ids": [a.object_id],
                },
            )
            txs.append(self.chain.tx(a.household.key, [msg], GAS_SETTLE))
        self.to_settle = []
        return txs

    def settle_fees(self) -> list[tuple[Household, int]]:
        """What each of the next block's settling households pays in fees (reserved first)."""
        return [(a.household, self.chain.fee_for(GAS_SETTLE)) for a in self.to_settle]

    # --- after each block ------------------------------------------------------------------------

    def after_block(self, events: list[Event]) -> None:
        for buyer in self.buyers:
            if buyer.posted is not None:
                if buyer.current is not None:
                    buyer.to_close.append(buyer.current)
                buyer.current, buyer.posted = buyer.posted, None
        self.to_access, self.granted = self.granted, []
        self.to_settle, self.accessed = self.accessed, []
        for event in events:
            if event.type == "market_paid":
                # Verify every payout is to a selling household (nobody else sells)
                h = self.by_text[event_attrs(event)["seller"]]
                h.data_month += self.params.data_price
                self.sales_month += 1
                self.paid_month += self.params.data_price

    def close_month(self) -> None:
        self.paid_month = self.sales_month = 0
        for h in self.by_text.values():
            h.data_month = 0
