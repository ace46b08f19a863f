"""storage under random sequences of deals, confirmations, proofs (honest, missing, corrupt),
claims, repairs, closes, provider changes and waits across epoch boundaries and deadlines.

After every block the harness checks every module's invariants (storage's: the module account
holds exactly the collateral plus the unpaid escrow; every placement consistent with its
provider's dense list, `used` and the lists). After every step this machine also checks:

- no message ever fails with an internal error, and the codes it can predict (an honest proof
  before the deadline, a provider confirming its own pending shard) are the ones it predicts;
- value is conserved: the actors and the storage account hold together what they held at
  genesis, less the fees they paid and what faults slashed into the community pool;
- every deal's placements have `paid <= escrow` and distinct providers, and a provider's
  confirmed placements are exactly those in its dense list (through the `/storage/...` queries).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.chain.storage_world import (
    FEE,
    OWNER_KEYS,
    OWNERS,
    PARAMS,
    PROVIDER_KEYS,
    PROVIDERS,
    START,
    World,
)
from voxpop.chain import errors
from voxpop.chain.module_accounts import STORAGE, module_address
from voxpop.chain.modules.storage import state

MODULE = module_address(STORAGE)
# Short epochs, so that a run crosses many deadlines and deal ends in few blocks
FAST = replace(PARAMS, epoch_blocks=8, proof_deadline_blocks=5)
ACTORS = [*PROVIDERS, *OWNERS]
OK = 0


class StorageMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-storage-"))
        self.world = World.start(self.dir / "s", FAST)
        self.fees = 0
        self.slashed = 0
        self.objects: list[bytes] = []  # every object id ever opened (some closed or ended)
        self.counter = 0

    def teardown(self) -> None:
        self.world.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- blocks ----------------------------------------------------------------------------------

    def _after_block(self) -> None:
        for e in self.world.chain.events:
            if e.type == "storage_fault":
                self.slashed += int(e.attr("slashed") or 0)

    def _send(self, signer: Any, type_: str, value: dict[str, Any]) -> int:
        code = self.world.send(signer, type_, value)
        self.fees += FEE
        self._after_block()
        assert code != errors.ChainError.code
        event(f"{type_} -> {errors.ERRORS[code].name if code else 'ok'}")
        return code

    def _wait(self, blocks: int) -> None:
        for _ in range(blocks):
            self.world.chain.block([])
            self._after_block()

    def _deal_may_end(self) -> bool:
        """Whether the next block starts an epoch: deals end there, before its txs run."""
        return self.world.next_height % FAST.epoch_blocks == 0

    # --- rules ----------------------------------------------------------------------------------

    @initialize()
    def providers(self) -> None:
        """Four providers, and a confirmed 1-of-3 deal, so that the first epochs have challenges."""
        for i in range(4):
            assert self.world.register(i) == OK
            self.fees += FEE
        self.open_deal(0, [0, 1, 2, 3], 3, 4)
        for i in range(3):
            self.confirm_pending(i)

    @rule(provider=st.integers(0, 3))
    def confirm_pending(self, provider: int) -> None:
        """A provider confirms every shard waiting for it (as a storage node does)."""
        pending = []
        for object_id in self.objects[-6:]:
            deal = self.world.deal(object_id)
            for i, p in enumerate(deal.placements if deal else ()):
                if p.provider == PROVIDERS[provider] and p.status == state.PENDING:
                    pending.append((object_id, i))
        if pending:
            value = {"provider": PROVIDERS[provider], "placements": [list(p) for p in pending]}
            code = self._send(PROVIDER_KEYS[provider], "storage/Confirm", value)
            assert code in (OK, errors.StorageDealNotFoundError.code)  # ended at the block start

    @rule(
        owner=st.integers(0, 1),
        providers=st.permutations(range(4)),
        n=st.integers(2, 4),
        epochs=st.integers(1, 4),
    )
    def open_deal(self, owner: int, providers: list[int], n: int, epochs: int) -> None:
        self.counter += 1
        object_id = self.counter.to_bytes(32, "big")
        value = self.world.deal_msg(owner, object_id, list(providers[:n]), epochs=epochs, k=1)
        code = self._send(OWNER_KEYS[owner], "storage/OpenDeal", value)
        if code == OK:
            self.objects.append(object_id)
        else:
            assert code in (
                errors.StorageOverCapacityError.code,
                errors.StorageCollateralLowError.code,
                errors.StorageProviderNotFoundError.code,
            )

    def _pick(self, data: st.DataObject) -> bytes:
        if self.objects and data.draw(st.sampled_from([True, True, True, False])):
            return data.draw(st.sampled_from(self.objects[-6:]))
        return bytes(32)

    @rule(provider=st.integers(0, 3), data=st.data())
    def confirm(self, provider: int, data: st.DataObject) -> None:
        object_id = self._pick(data)
        deal = self.world.deal(object_id)
        index = data.draw(st.integers(0, 3))
        own_pending = (
            deal is not None
            and index < deal.n
            and deal.placements[index].provider == PROVIDERS[provider]
            and deal.placements[index].status == state.PENDING
        )
        value = {"provider": PROVIDERS[provider], "placements": [[object_id, index]]}
        ending = self._deal_may_end()
        code = self._send(PROVIDER_KEYS[provider], "storage/Confirm", value)
        assert (code == OK) == own_pending or ending, code

    @rule(
        provider=st.integers(0, 3), how=st.sampled_from(["honest", "honest", "corrupt", "partial"])
    )
    def prove(self, provider: int, how: str) -> None:
        w = self.world
        epoch = w.epoch
        challenges = w.challenges(provider, epoch)
        offset = w.next_height % FAST.epoch_blocks
        if challenges is None or offset in (0, FAST.proof_deadline_blocks):
            return
        held = [c for c in sorted(set(challenges.items)) if self._holds(provider, c[0], c[1])]
        if not held:
            return
        proofs = [p for p in w.proofs(provider, epoch) if (p[0], p[1], p[2]) in held]
        if how == "partial":
            proofs = proofs[:1]
        if how == "corrupt":
            proofs[0] = [*proofs[0][:3], bytes(len(proofs[0][3])), proofs[0][4]]
        code = self._send(
            PROVIDER_KEYS[provider],
            "storage/Prove",
            {"provider": PROVIDERS[provider], "epoch": epoch, "proofs": proofs},
        )
        if offset > FAST.proof_deadline_blocks:
            assert code == errors.StorageProofLateError.code
        elif how == "corrupt":
            assert code == errors.StorageBadProofError.code
        else:
            assert code == OK

    def _holds(self, provider: int, object_id: bytes, shard_index: int) -> bool:
        deal = self.world.deal(object_id)
        return deal is not None and deal.placements[shard_index].provider == PROVIDERS[provider]

    @rule(provider=st.integers(0, 3), data=st.data())
    def claim(self, provider: int, data: st.DataObject) -> None:
        object_id = self._pick(data)
        code = self._send(
            PROVIDER_KEYS[provider],
            "storage/Claim",
            {"provider": PROVIDERS[provider], "object_ids": [object_id]},
        )
        assert code in (OK, errors.StorageDealNotFoundError.code, errors.StorageNotPlacedError.code)

    @rule(owner=st.integers(0, 1), shard=st.integers(0, 3), new=st.integers(0, 3), data=st.data())
    def replace(self, owner: int, shard: int, new: int, data: st.DataObject) -> None:
        object_id = self._pick(data)
        value = {
            "owner": OWNERS[owner],
            "object_id": object_id,
            "shard_index": shard,
            "provider": PROVIDERS[new],
        }
        self._send(OWNER_KEYS[owner], "storage/Replace", value)

    @rule(data=st.data())
    def repair(self, data: st.DataObject) -> None:
        """The owner moves a shard marked for repair (or unconfirmed too long) to a provider not
        in the deal, as its repair agent does."""
        for object_id in self.objects[-6:]:
            deal = self.world.deal(object_id)
            if deal is None:
                continue
            height = self.world.next_height
            movable = [
                i
                for i, p in enumerate(deal.placements)
                if p.status == state.REPAIR
                or (p.status == state.PENDING and height >= p.placed_at + FAST.confirm_blocks)
            ]
            free = [a for a in PROVIDERS if all(p.provider != a for p in deal.placements)]
            if not movable or not free:
                continue
            value = {
                "owner": deal.owner,
                "object_id": object_id,
                "shard_index": data.draw(st.sampled_from(movable)),
                "provider": data.draw(st.sampled_from(free)),
            }
            code = self._send(OWNER_KEYS[OWNERS.index(deal.owner)], "storage/Replace", value)
            assert code in (
                OK,
                errors.StorageDealNotFoundError.code,  # it ended at this block's start
                errors.StorageDealEndingError.code,
                errors.StorageOverCapacityError.code,
                errors.StorageCollateralLowError.code,
                errors.StorageProviderNotFoundError.code,
            )
            return

    @rule(owner=st.integers(0, 1), data=st.data())
    def close(self, owner: int, data: st.DataObject) -> None:
        object_id = self._pick(data)
        deal = self.world.deal(object_id)
        ending = self._deal_may_end()
        code = self._send(
            OWNER_KEYS[owner], "storage/CloseDeal", {"owner": OWNERS[owner], "object_id": object_id}
        )
        if deal is None or (ending and code == errors.StorageDealNotFoundError.code):
            assert code == errors.StorageDealNotFoundError.code
        elif deal.owner != OWNERS[owner]:
            assert code == errors.StorageWrongOwnerError.code
        else:
            assert code == OK

    @rule(
        provider=st.integers(0, 3),
        action=st.sampled_from(["withdraw", "register", "collateral", "shrink"]),
    )
    def provider_change(self, provider: int, action: str) -> None:
        k, a = PROVIDER_KEYS[provider], PROVIDERS[provider]
        if action == "withdraw":
            self._send(k, "storage/Withdraw", {"provider": a})
        elif action == "register":
            self.world.register(provider)
            self.fees += FEE
            self._after_block()
        elif action == "collateral":
            self._send(k, "storage/AddCollateral", {"provider": a, "amount": 5_000})
        else:
            value = {"provider": a, "endpoint": "http://s", "capacity": 600, "price": 1 << 30}
            self._send(k, "storage/Update", value)

    @rule(blocks=st.sampled_from([1, 3, FAST.proof_deadline_blocks, FAST.epoch_blocks]))
    def wait(self, blocks: int) -> None:
        self._wait(blocks)

    # --- what must hold after every step ----------------------------------------------------------

    @invariant()
    def value_is_conserved(self) -> None:
        chain = self.world.chain
        total = sum(chain.balance(a) for a in ACTORS) + chain.balance(MODULE)
        assert total == len(ACTORS) * START - self.fees - self.slashed

    @invariant()
    def deals_are_consistent(self) -> None:
        for object_id in self.objects[-8:]:
            deal = self.world.deal(object_id)
            if deal is None:
                continue
            assert len({p.provider for p in deal.placements}) == deal.n
            assert all(0 <= p.paid <= p.escrow for p in deal.placements)
            last = (self.world.next_height - 1) // FAST.epoch_blocks  # the last block's epoch
            assert deal.start_epoch - 1 <= last < deal.end_epoch


StorageMachine.TestCase.settings = settings(max_examples=10, stateful_step_count=30, deadline=None)
test_storage_stateful = StorageMachine.TestCase
