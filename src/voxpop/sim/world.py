"""The simulated world: genesis, the actors' behaviour per block, and the books per month.

One block per `block_seconds` of chain time. Each actor acts in its own block of the day, so a
day's work is spread over the day's blocks and every decision reads committed state. What
happens off chain (the calls themselves) is counted in aggregate per household-day; what reaches
the chain is what would in the real network: grant claims, channel opens and top-ups, payees'
voucher claims, skill settlements, storage registrations, deals, confirmations and proofs,
delegations, proposals and votes, and purchases (a transfer from an exchange).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from voxpop.chain.app import event_attrs
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.gov.module import GovModule
from voxpop.chain.modules.gov.state import GovParams
from voxpop.chain.modules.grant.state import attestation_sign_bytes
from voxpop.chain.modules.services.module import ServicesModule
from voxpop.chain.modules.storage import state as storage_state
from voxpop.chain.modules.storage.module import StorageModule
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.vouchers import derive_channel_id, voucher_sign_bytes
from voxpop.sim.actors import (
    Channel,
    Deal,
    Household,
    Payee,
    StorageNode,
    actor_key,
    shard_leaf,
    uniform_tree,
)
from voxpop.sim.chain import CHAIN_ID, BlockResult, PendingTx, SimChain
from voxpop.sim.data import DataMarket
from voxpop.sim.errors import SimConfigError, SimTxError
from voxpop.sim.params import BPS, DAY, VOX, SimParams, distribution_params, shard_bytes
from voxpop.sim.report import MonthRow, month_row

# Gas limits: about twice what each tx used when measured (`SimChain.gas_used`); a tx pays for its
# limit, and the fee market's block fullness counts limits
GAS_CLAIM = 50_000
GAS_SMALL = 150_000
GAS_SETUP = 600_000
GAS_USE = 300_000
GAS_VOUCHER = 12_000  # per voucher of a channels/Claim, over GAS_SMALL
GAS_PROVE = 300_000
GAS_PLACEMENT = 12_000  # per placement of a storage/Confirm, over GAS_SMALL (measured: ~10,000)
MAX_VOUCHERS = 64
MAX_PAYEE_CHANNELS = 1_024  # the channels module lists at most this many channels per payee
GIB = 1 << 30


@dataclass
class Books:
    """What the model counts that the chain does not keep: reset each month."""

    grants_paid: int = 0
    gov_spent: int = 0
    skill_paid: int = 0
    households_bought: int = 0
    bought: int = 0
    stt_calls: int = 0
    storage_paid: int = 0


@dataclass
class World:
    params: SimParams
    chain: SimChain
    households: list[Household]
    payees: dict[str, list[Payee]]
    storage_nodes: list[StorageNode]
    registrars: list[PrivateKey]
    validators: list[PrivateKey]
    delegators: list[PrivateKey]
    exchange: PrivateKey
    developers: bytes
    skill_creators: list[PrivateKey]
    rng: random.Random
    market: DataMarket
    books: Books = field(default_factory=Books)
    deals: dict[bytes, Deal] = field(default_factory=dict)
    proposals: int = 0
    rows: list[MonthRow] = field(default_factory=list)
    month_start: dict[str, int] = field(default_factory=dict)
    serve_refused: int = 0
    # Registered in the block being built: chosen by others from the next block on
    new_payees: list[Payee] = field(default_factory=list)
    new_nodes: list[StorageNode] = field(default_factory=list)
    buys: list[tuple[bytes, int]] = field(default_factory=list)  # this block's purchases
    reserved: dict[bytes, int] = field(default_factory=dict)  # spent by this block's txs
    by_address: dict[bytes, Household] = field(default_factory=dict)

    # --- set up ----------------------------------------------------------------------------------

    @classmethod
    def create(cls, params: SimParams, path: Path) -> World:
        p = params
        seed = p.seed
        validators = [actor_key(seed, "validator", i) for i in range(p.validators)]
        consensus = [actor_key(seed, "consensus", i) for i in range(p.validators)]
        delegators = [actor_key(seed, "delegator", i) for i in range(p.delegators)]
        registrars = [actor_key(seed, "registrar", i) for i in range(p.registrars)]
        creators = [actor_key(seed, "skill", i) for i in range(p.skill_creators)]
        exchange = actor_key(seed, "exchange", 0)
        developers = actor_key(seed, "developers", 0).public_key.address
        payees: dict[str, list[Payee]] = {"stt": [], "knowledge": []}
        for kind, count, price, cost in (
            ("stt", p.stt_providers, p.stt_price, p.provider_stt_cost),
            ("knowledge", p.knowledge_providers, p.knowledge_price, p.provider_knowledge_cost),
        ):
            for i in range(count):
                k = actor_key(seed, f"provider-{kind}", i)
                payees[kind].append(
                    Payee(i, k, k.public_key.address, kind, price, cost, 0, household=False)
                )
        nodes = []
        for i in range(p.storage_nodes):
            k = actor_key(seed, "storage", i)
            nodes.append(StorageNode(i, k, k.public_key.address, p.storage_node_gib * GIB, False))
        rng = random.Random(seed)
        households = []
        per_day = p.blocks_per_day
        for i in range(p.households):
            k = actor_key(seed, "household", i)
            households.append(
                Household(
                    index=i,
                    key=k,
                    address=k.public_key.address,
                    join_day=i * p.onboarding_days // p.households,
                    hour=i % per_day,
                    opts_stt=rng.randrange(BPS) < p.serve_stt_bps,
                    opts_storage=rng.randrange(BPS) < p.serve_storage_bps,
                    stores=rng.randrange(BPS) < p.store_bps,
                    skill=rng.randrange(p.skill_creators),
                )
            )
        liquid = 10_000 * VOX  # an operator's spending money: proposal deposits, fees
        balances: list[tuple[bytes, int]] = [
            (v.public_key.address, p.validator_self_bond + liquid) for v in validators
        ]
        balances += [(d.public_key.address, p.delegator_balance) for d in delegators]
        balances += [(c.public_key.address, 100 * VOX) for c in creators]
        balances += [(exchange.public_key.address, p.exchange_balance)]
        for kind_payees in payees.values():
            balances += [(x.address, p.provider_stake + 100 * VOX) for x in kind_payees]
        balances += [(n.address, p.storage_node_collateral + 100 * VOX) for n in nodes]
        balances += DataMarket.genesis_accounts(p)
        app_state = default_app_state(
            balances,
            grant_pool=p.grant_pool,
            registrars=[(r.public_key.raw, f"registrar{i}") for i, r in enumerate(registrars)],
            validators=[
                (v.public_key.address, c.public_key.raw, p.validator_self_bond)
                for v, c in zip(validators, consensus, strict=True)
            ],
            distribution=distribution_params(p),
        )
        _genesis_params(app_state, p)
        try:
            chain = SimChain.start(path, app_state, [c.public_key.raw for c in consensus])
        except InvalidGenesisError as exc:
            raise SimConfigError("chain_genesis", exc.message) from None
        return cls(
            params=p,
            chain=chain,
            households=households,
            payees=payees,
            storage_nodes=nodes,
            registrars=registrars,
            validators=validators,
            delegators=delegators,
            exchange=exchange,
            developers=developers,
            skill_creators=creators,
            rng=rng,
            market=DataMarket.create(p, chain, households),
            by_address={h.address: h for h in households},
        )

    # --- the run ---------------------------------------------------------------------------------

    def run(self, on_block: Callable[[World], None] | None = None) -> list[MonthRow]:
        p = self.params
        per_day = p.blocks_per_day
        self._open_month()
        prove_epoch: int | None = None
        for b in range(p.total_blocks):
            day, hour = divmod(b, per_day)
            txs: list[PendingTx] = []
            self.buys, self.reserved = [], {}
            if b == 0:
                txs += self._genesis_day()
            if day > 0 and day % p.month_days == 0 and hour == 0:
                txs += self._propose_spend()
            if self.proposals and day % p.month_days == 0 and hour == 1 and day > 0:
                txs += self._vote()
            if prove_epoch is not None:
                txs += self._prove(prove_epoch)
                prove_epoch = None
            for h, fee in self.market.settle_fees():
                self._afford(h, fee)
            txs += self.market.block_txs(day, hour)
            for h in self._acting(day, hour):
                tx = self._household_step(h, day)
                if tx is not None:
                    txs.append(tx)
                if h.state == "active":
                    grant = self.market.grant(h, h.deal in self.deals, partial(self._afford, h))
                    if grant is not None:
                        txs.append(grant)
            for offset, kind_payees in enumerate(self.payees.values()):
                for payee in kind_payees:
                    # Payees claim in their own block of their own day of the claim period;
                    # kinds half a day apart
                    turn = (payee.index + offset * per_day // 2) % per_day
                    due = (day + payee.index) % p.claim_days == 0
                    if turn == hour and due and day > 0:
                        txs += self._claim(payee)
            # Storage nodes confirm their new placements in the block the deals open in
            for node in self.storage_nodes:
                if node.to_confirm:
                    txs += self._confirm(node)
            if self.buys:
                txs.insert(0, self._buy_tx(self.buys))
            # Block b is at genesis + b x block_seconds: a simulated day is a grant epoch
            result = self.chain.block(txs, p.block_seconds if b else 0)
            self._after_block(result)
            epoch_blocks = p.storage_epoch_days * per_day
            if result.height % epoch_blocks == 0:
                prove_epoch = result.height // epoch_blocks
            if on_block is not None:
                on_block(self)
            if (b + 1) % (p.month_days * per_day) == 0 or b + 1 == p.total_blocks:
                self._close_month(day + 1)
        return self.rows

    def _acting(self, day: int, hour: int) -> list[Household]:
        return [h for h in self.households[hour :: self.params.blocks_per_day] if h.join_day <= day]

    # --- genesis day: providers, storage nodes, skills, delegations ------------------------------

    def _genesis_day(self) -> list[PendingTx]:
        p = self.params
        txs = []
        for kind_payees in self.payees.values():
            for payee in kind_payees:
                txs.append(self._register_offer(payee, p.provider_stake))
        for node in self.storage_nodes:
            txs.append(self._register_storage(node, p.storage_node_collateral))
        txs += self.market.register_nodes()
        for i, creator in enumerate(self.skill_creators):
            msg = (
                "skills/Register",
                {
                    "creator": creator.public_key.address,
                    "skill_id": f"skill-{i}.sim",
                    "payout": creator.public_key.address,
                    "fee_per_use": p.skill_fee,
                },
            )
            txs.append(self.chain.tx(creator, [msg], GAS_SMALL))
        for i, d in enumerate(self.delegators):
            amount = p.delegator_balance * p.delegate_bps // BPS
            if amount:
                validator = self.validators[i % len(self.validators)].public_key.address
                msg = (
                    "staking/Delegate",
                    {"delegator": d.public_key.address, "validator": validator, "amount": amount},
                )
                txs.append(self.chain.tx(d, [msg], GAS_SMALL))
        return txs

    def _register_offer(self, payee: Payee, stake: int) -> PendingTx:
        return self.chain.tx(payee.key, [self._offer_msg(payee, stake)], GAS_SMALL)

    def _offer_msg(self, payee: Payee, stake: int) -> tuple[str, dict[str, Any]]:
        return (
            "services/Register",
            {
                "provider": payee.address,
                "kind": payee.kind,
                "endpoint": f"https://p{payee.address.hex()[:8]}.example",
                "price": payee.price,
                "languages": ["en"],
                "signing_key": payee.key.public_key.raw,
                "stake": stake,
            },
        )

    def _storage_msg(self, node: StorageNode, collateral: int) -> tuple[str, dict[str, Any]]:
        return (
            "storage/Register",
            {
                "provider": node.address,
                "endpoint": f"https://s{node.address.hex()[:8]}.example",
                "capacity": node.capacity,
                "price": self.params.storage_price,
                "collateral": collateral,
            },
        )

    def _register_storage(self, node: StorageNode, collateral: int) -> PendingTx:
        return self.chain.tx(node.key, [self._storage_msg(node, collateral)], GAS_SMALL)

    # --- households ------------------------------------------------------------------------------

    def _household_step(self, h: Household, day: int) -> PendingTx | None:
        if h.state == "waiting":
            h.state = "claimed"
            return self._claim_grant(h)
        if h.state == "claimed":
            h.state = "active"
            return self._setup(h)
        return self._use(h, day)

    def _claim_grant(self, h: Household) -> PendingTx:
        p = self.params
        registrar = self.registrars[h.index % len(self.registrars)]
        identity = hashlib.sha256(b"voxpop-sim/identity" + h.address).digest()
        expiry = self.chain.time + DAY
        signature = registrar.sign(attestation_sign_bytes(CHAIN_ID, h.address, identity, expiry))
        msg = (
            "grant/Claim",
            {
                "claimant": h.address,
                "registrar": registrar.public_key.raw,
                "identity_hash": identity,
                "expiry": expiry,
                "signature": signature,
            },
        )
        self.books.grants_paid += p.grant_amount
        return self.chain.tx(h.key, [msg], GAS_CLAIM, free=True)

    def _daily_cost(self, h: Household, kind: str) -> int:
        p = self.params
        channel = h.channels.get(kind)
        price = channel.payee.price if channel else p.stt_price
        calls = p.stt_calls_per_day if kind == "stt" else p.knowledge_calls_per_day
        return calls * price

    def _setup(self, h: Household) -> PendingTx:
        """Open the two channels; opt in to serve (stake first); open a storage deal."""
        p = self.params
        msgs: list[tuple[str, dict[str, Any]]] = []
        need = 0
        if h.opts_stt:
            if p.household_stt_stake >= p.services_min_stake:
                k = h.key
                h.payee = Payee(
                    len(self.payees["stt"]),
                    k,
                    h.address,
                    "stt",
                    p.household_stt_price,
                    p.household_stt_cost,
                    p.household_stt_capacity,
                    household=True,
                )
                self.new_payees.append(h.payee)
                msgs.append(self._offer_msg(h.payee, p.household_stt_stake))
                need += p.household_stt_stake
            else:
                self.serve_refused += 1
        if h.opts_storage:
            node = StorageNode(
                len(self.storage_nodes), h.key, h.address, p.household_storage_gib * GIB, True
            )
            self.new_nodes.append(node)
            h.storage = node
            msgs.append(self._storage_msg(node, p.household_storage_collateral))
            need += p.household_storage_collateral
        for nonce, kind in enumerate(("stt", "knowledge")):
            payee = self._route(h, kind)
            deposit = p.channel_days * (
                (p.stt_calls_per_day if kind == "stt" else p.knowledge_calls_per_day) * payee.price
            )
            channel_id = derive_channel_id(CHAIN_ID, h.address, nonce)
            channel = Channel(channel_id, h.key, payee, deposit)
            h.channels[kind] = channel
            payee.channels.append(channel)
            msgs.append(
                (
                    "channels/Open",
                    {
                        "payer": h.address,
                        "payee": payee.address,
                        "voucher_key": h.key.public_key.raw,
                        "deposit": deposit,
                    },
                )
            )
            need += deposit
        if h.stores:
            deal_msg, escrow = self._open_deal(h)
            if deal_msg is not None:
                msgs.append(deal_msg)
                need += escrow
                h.spend_month += escrow
        fee = self.chain.fee_for(GAS_SETUP)
        self._afford(h, need + fee)
        return self.chain.tx(h.key, msgs, GAS_SETUP)

    def _afford(self, h: Household, need: int) -> None:
        """Reserve `need` of what `h` holds for this block's txs; if it holds less, buy the
        shortfall and buy_days more of calls (the exchange's transfer goes first in the block)."""
        balance = self.chain.balance(h.address) - self.reserved.get(h.address, 0)
        if need > balance:
            amount = (
                need
                - balance
                + self.params.buy_days
                * (self._daily_cost(h, "stt") + self._daily_cost(h, "knowledge"))
            )
            self.buys.append((h.address, amount))
            h.bought_month += amount
            self.books.bought += amount
            balance += amount
        self.reserved[h.address] = self.reserved.get(h.address, 0) + need

    def _afford_fee(self, address: bytes, gas_limit: int) -> None:
        """A serving household pays its server's tx fees from its wallet like anything else."""
        h = self.by_address.get(address)
        if h is not None:
            self._afford(h, self.chain.fee_for(gas_limit))

    def _route(self, h: Household, kind: str) -> Payee:
        """The agent's choice: the cheapest payee with room (households serve below the
        dedicated price), then the least loaded dedicated provider. Never itself."""
        p = self.params
        calls = p.stt_calls_per_day if kind == "stt" else p.knowledge_calls_per_day
        options = [
            x
            for x in self.payees[kind]
            if x.address != h.address
            and (x.capacity == 0 or x.load + calls <= x.capacity)
            and len(x.channels) < MAX_PAYEE_CHANNELS
        ]
        best = min(options, key=lambda x: (x.price, x.load, x.index))
        best.load += calls
        return best

    def _jitter(self, mean: int) -> int:
        spread = mean * self.params.call_jitter_bps // BPS
        return mean - spread + self.rng.randrange(2 * spread + 1) if spread else mean

    def _use(self, h: Household, day: int) -> PendingTx | None:
        """A day of calls, counted off chain; a top-up (and royalties) when a channel runs low."""
        p = self.params
        msgs: list[tuple[str, dict[str, Any]]] = []
        need = 0
        for kind, mean in (("stt", p.stt_calls_per_day), ("knowledge", p.knowledge_calls_per_day)):
            channel = h.channels[kind]
            calls = self._jitter(mean)
            cost = calls * channel.payee.price
            if channel.spent + cost > channel.deposit:
                amount = max(cost, p.channel_days * self._daily_cost(h, kind))
                channel.deposit += amount
                need += amount
                msgs.append(
                    (
                        "channels/TopUp",
                        {"payer": h.address, "channel_id": channel.channel_id, "amount": amount},
                    )
                )
            channel.spent += cost
            h.spend_month += cost
            channel.payee.calls_month += calls
            if kind == "stt":
                self.books.stt_calls += calls
        h.skill_uses += self._jitter(p.skill_uses_per_day)
        if msgs and h.skill_uses:
            skill_id = f"skill-{h.skill}.sim"
            msgs.append(("skills/Settle", {"payer": h.address, "uses": [[skill_id, h.skill_uses]]}))
            royalties = h.skill_uses * p.skill_fee
            need += royalties
            h.spend_month += royalties
            self.books.skill_paid += royalties
            h.skill_uses = 0
        if h.stores and (h.deal is None or self._epoch() >= h.deal_end_epoch):
            h.deal = None
            deal_msg, escrow = self._open_deal(h)
            if deal_msg is not None:
                msgs.append(deal_msg)
                need += escrow
                h.spend_month += escrow
        if not msgs:
            return None
        fee = self.chain.fee_for(GAS_USE)
        self._afford(h, need + fee)
        return self.chain.tx(h.key, msgs, GAS_USE)

    def _buy_tx(self, buys: list[tuple[bytes, int]]) -> PendingTx:
        self.books.households_bought += len({a for a, _ in buys})
        outputs = [[address, amount] for address, amount in buys]
        msg = ("bank/MultiSend", {"from": self.exchange.public_key.address, "outputs": outputs})
        return self.chain.tx(self.exchange, [msg], GAS_SMALL + 5_000 * len(outputs))

    # --- storage ---------------------------------------------------------------------------------

    def _epoch(self) -> int:
        epoch_blocks = self.params.storage_epoch_days * self.params.blocks_per_day
        return (self.chain.height + 1) // epoch_blocks

    def _open_deal(self, h: Household) -> tuple[tuple[str, dict[str, Any]] | None, int]:
        p = self.params
        size = shard_bytes(p)
        # The deal_n least used nodes, households' first (nsmallest: sorted()[:n], without
        # sorting every node for each deal)
        nodes = heapq.nsmallest(
            p.deal_n,
            (
                n
                for n in self.storage_nodes
                if n.address != h.address and n.used + size <= n.capacity
            ),
            key=lambda n: (not n.household, n.used, n.index),
        )
        if len(nodes) < p.deal_n:
            return None, 0
        object_id = hashlib.sha256(
            b"voxpop-sim/object" + h.address + self.chain.height.to_bytes(8, "big")
        ).digest()
        levels = (size // p.storage_leaf_bytes).bit_length() - 1
        roots = [
            uniform_tree(shard_leaf(object_id, i, p.storage_leaf_bytes), levels)[0]
            for i in range(p.deal_n)
        ]
        escrow = storage_state.compute_escrow(size, p.storage_price, p.deal_epochs)
        for i, node in enumerate(nodes):
            node.used += size
            node.to_confirm.append((object_id, i))
        start = self._epoch() + 1
        self.deals[object_id] = Deal(h, nodes, size, escrow, start + p.deal_epochs)
        h.deal = object_id
        h.deal_end_epoch = start + p.deal_epochs
        msg = {
            "owner": h.address,
            "object_id": object_id,
            "header_hash": hashlib.sha256(b"header" + object_id).digest(),
            "size": p.store_gib * GIB,
            "shard_size": size,
            "k": p.deal_k,
            "n": p.deal_n,
            "leaf_size": p.storage_leaf_bytes,
            "roots": roots,
            "providers": [n.address for n in nodes],
            "epochs": p.deal_epochs,
            "max_price": p.storage_price,
        }
        return ("storage/OpenDeal", msg), escrow * p.deal_n

    def _confirm(self, node: StorageNode) -> list[PendingTx]:
        """The node's new placements confirmed, at most MAX_VOUCHERS a tx (a Confirm's gas grows
        with its placements: a busy block's batch would not fit one tx's limit)."""
        placements = [[o, i] for o, i in node.to_confirm]
        node.placements += len(placements)
        node.to_confirm = []
        txs = []
        for start in range(0, len(placements), MAX_VOUCHERS):
            batch = placements[start : start + MAX_VOUCHERS]
            msg = ("storage/Confirm", {"provider": node.address, "placements": batch})
            gas = GAS_SMALL + GAS_PLACEMENT * len(batch)
            self._afford_fee(node.address, gas)
            txs.append(self.chain.tx(node.key, [msg], gas))
        return txs

    def _prove(self, epoch: int) -> list[PendingTx]:
        p = self.params
        txs = []
        levels = (shard_bytes(p) // p.storage_leaf_bytes).bit_length() - 1
        for node in self.storage_nodes:
            challenges = storage_state.get_challenges(self.chain.app.committed, node.address, epoch)
            if challenges is None:
                continue
            proofs = []
            for object_id, shard, leaf_index in sorted(set(challenges.items)):
                leaf = shard_leaf(object_id, shard, p.storage_leaf_bytes)
                _, path = uniform_tree(leaf, levels)
                proofs.append([object_id, shard, leaf_index, leaf, path])
            msg = ("storage/Prove", {"provider": node.address, "epoch": epoch, "proofs": proofs})
            self._afford_fee(node.address, GAS_PROVE)
            txs.append(self.chain.tx(node.key, [msg], GAS_PROVE))
        return txs

    def _after_block(self, result: BlockResult) -> None:
        self.payees["stt"] += self.new_payees
        self.storage_nodes += self.new_nodes
        self.new_payees, self.new_nodes = [], []
        self.market.after_block(result.events)
        for event in result.events:
            if event.type == "storage_deal_end":
                self._end_deal(event_attrs(event))

    def _end_deal(self, attrs: dict[str, str]) -> None:
        """A deal's term ended: its providers were paid for every epoch they proved, which is
        every epoch (the model's nodes always prove): anything else is a broken promise."""
        deal = self.deals.pop(bytes.fromhex(attrs["object_id"]))
        paid = int(attrs["paid"])
        if paid != deal.escrow * len(deal.nodes):
            raise SimTxError(
                f"deal paid {paid}, proven storage earned {deal.escrow * len(deal.nodes)}"
            )
        for node in deal.nodes:
            node.income_month += deal.escrow
            node.used -= deal.shard_size
            node.placements -= 1
        self.books.storage_paid += paid

    # --- payees ----------------------------------------------------------------------------------

    def _claim(self, payee: Payee) -> list[PendingTx]:
        vouchers = []
        for channel in payee.channels:
            done = payee.claimed.get(channel.channel_id, 0)
            if channel.spent > done:
                signature = channel.payer.sign(
                    voucher_sign_bytes(CHAIN_ID, channel.channel_id, channel.spent)
                )
                vouchers.append([channel.channel_id, channel.spent, signature])
                payee.income_month += channel.spent - done
                payee.claimed[channel.channel_id] = channel.spent
        txs = []
        for i in range(0, len(vouchers), MAX_VOUCHERS):
            msg = (
                "channels/Claim",
                {"payee": payee.address, "vouchers": vouchers[i : i + MAX_VOUCHERS]},
            )
            gas = GAS_SMALL + GAS_VOUCHER * len(msg[1]["vouchers"])
            self._afford_fee(payee.address, gas)
            txs.append(self.chain.tx(payee.key, [msg], gas))
        return txs

    # --- governance ------------------------------------------------------------------------------

    def _propose_spend(self) -> list[PendingTx]:
        p = self.params
        pool = self.chain.balance(module_address(COMMUNITY_POOL))
        amount = pool * p.gov_spend_bps // BPS
        if amount == 0:
            return []
        proposer = self.validators[0]
        action = {
            "type": "gov/CommunitySpend",
            "value": {"recipient": self.developers, "amount": amount},
        }
        msg = (
            "gov/SubmitProposal",
            {
                "proposer": proposer.public_key.address,
                "title": f"developers, month {self.proposals + 1}",
                "summary": "the core developers' monthly funding",
                "actions": [action],
                "deposit": GovParams().min_deposit,
            },
        )
        self.proposals += 1
        self.books.gov_spent += amount
        return [self.chain.tx(proposer, [msg], GAS_SMALL)]

    def _vote(self) -> list[PendingTx]:
        return [
            self.chain.tx(
                v,
                [
                    (
                        "gov/Vote",
                        {"voter": v.public_key.address, "proposal_id": self.proposals, "option": 1},
                    )
                ],
                GAS_SMALL,
            )
            for v in self.validators
        ]

    # --- the books -------------------------------------------------------------------------------

    def _open_month(self) -> None:
        self.month_start = {
            "issued": self.chain.issued(),
            "burned": self.chain.burned,
            "fees": self.chain.fees,
        }

    def _close_month(self, day: int) -> None:
        self.rows.append(month_row(self, len(self.rows) + 1, day))
        self.books = Books()
        for h in self.households:
            h.spend_month = 0
            h.bought_month = 0
        for kind_payees in self.payees.values():
            for payee in kind_payees:
                payee.calls_month = 0
                payee.income_month = 0
        for node in self.storage_nodes:
            node.income_month = 0
        self.market.close_month()
        self._open_month()


def _genesis_params(app_state: dict[str, Any], p: SimParams) -> None:
    """The sim's chain parameters: its storage epochs, its services stake, its gov periods."""
    services = ServicesModule().default_genesis()
    services["params"] = {**services["params"], "min_stake": p.services_min_stake}
    app_state["services"] = services
    storage = StorageModule().default_genesis()
    epoch_blocks = p.storage_epoch_days * p.blocks_per_day
    storage["params"] = {
        **storage["params"],
        "epoch_blocks": epoch_blocks,
        "proof_deadline_blocks": epoch_blocks // 2,
        "challenges_per_epoch": p.storage_challenges,
        "leaf_size": p.storage_leaf_bytes,
        "min_collateral": min(p.household_storage_collateral, p.storage_node_collateral),
        "confirm_blocks": p.blocks_per_day,
    }
    app_state["storage"] = storage
    gov = GovModule().default_genesis()
    gov["params"] = {
        **gov["params"],
        "voting_period_seconds": p.gov_voting_days * DAY,
        "max_deposit_period_seconds": p.gov_voting_days * DAY,
    }
    app_state["gov"] = gov
    app_state["grant"]["params"]["amount"] = p.grant_amount
    app_state["grant"]["params"]["registrar_quota"] = p.registrar_quota
