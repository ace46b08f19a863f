"""Under sustained overload the base price climbs until the demand it lets in fits the target,
and falls back to the floor after: the real app's mempool (CheckTx, rechecks), proposals
(PrepareProposal, by tip) and blocks, no network."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from tests.chain.harness import Chain, key, send_msg
from tests.chain.test_feemarket import FLOOR, GAS, small_state
from voxpop.chain import errors
from voxpop.chain.abci import CheckTxType, RequestCheckTx, RequestPrepareProposal
from voxpop.chain.modules.feemarket.state import charge

# 30 users, each sending one tx a block while it will pay the price: user i pays at most
# (1 + i/10) x the floor. The block takes 10 such txs, its target is 5: demand is 6 blocks' worth.
BUYERS = [key(700 + i) for i in range(30)]
WILLING = [FLOOR + FLOOR * i // 10 for i in range(30)]
TARGET_TXS = 5


def base_price(chain: Chain) -> int:
    raw = chain.query("/feemarket/base_price")
    return int.from_bytes(raw, "big") if raw else FLOOR


def test_overload_raises_price_until_demand_fits_then_it_falls_back(tmp_path: Path) -> None:
    state = small_state()
    state["bank"]["balances"] += [{"address": _bech32(k), "amount": 10**12} for k in BUYERS]
    chain = Chain.start(tmp_path / "chain", app_state=state)
    sequences = [0] * len(BUYERS)
    pending: dict[int, bytes] = {}  # buyer -> its tx in the mempool
    included_per_block: list[int] = []
    prices = [base_price(chain)]
    for _ in range(60):
        # Every buyer without a pending tx offers one at its own price, if the mempool takes it
        for i, buyer in enumerate(BUYERS):
            if i in pending:
                continue
            tx = chain.tx(
                buyer,
                [send_msg(buyer, BUYERS[0], 1)],
                fee=charge(GAS, WILLING[i]),
                sequence=sequences[i],
            )
            res = chain.app.check_tx(RequestCheckTx(tx))
            if res.code == 0:
                pending[i] = tx
            else:
                assert res.code == errors.FeeBelowBaseError.code, res.log
                assert WILLING[i] < base_price(chain)
        height = chain.app.last_height + 1
        proposal = chain.app.prepare_proposal(
            RequestPrepareProposal(0, tuple(pending.values()), height, chain.time + 5)
        ).txs
        results = chain.block(list(proposal))
        assert all(r.code == 0 for r in results), [r.log for r in results]
        included = {i for i, tx in pending.items() if tx in proposal}
        # The proposal takes the highest bidders first
        if included and len(included) < len(pending):
            assert min(WILLING[i] for i in included) >= max(
                WILLING[i] for i in pending if i not in included
            )
        for i in included:
            sequences[i] += 1
            del pending[i]
        # CometBFT rechecks what is left: txs now below the base price are evicted
        for i, tx in list(pending.items()):
            if chain.app.check_tx(RequestCheckTx(tx, CheckTxType.RECHECK)).code != 0:
                del pending[i]
        included_per_block.append(len(included))
        prices.append(base_price(chain))
    # The price climbed, never past what the keenest buyer pays, and no faster than 1/8 a block
    assert FLOOR * 3 < max(prices) <= WILLING[-1] + WILLING[-1] // 8
    assert all(b <= a + a // 8 + 1 for a, b in pairwise(prices))
    # Once it settled, the demand it lets in fits the target (5 txs a block on average)
    settled = included_per_block[-20:]
    assert TARGET_TXS - 1 <= sum(settled) / len(settled) <= TARGET_TXS + 1
    # Demand stops: the price falls back to the floor
    for _ in range(40):
        chain.block([])
    assert base_price(chain) == FLOOR
    assert chain.query("/feemarket/base_price") == b""
    chain.app.store.close()


def _bech32(k: object) -> str:
    from voxpop.crypto.address import encode_address

    return encode_address(k.public_key.address)  # type: ignore[attr-defined]
