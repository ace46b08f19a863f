"""The fuzz campaign of issue 6, short: the same generators, oracle and pipeline as
`python bench/fuzz.py` (tests/support/fuzzing.py), in-process, plus the findings that started it as
exact byte strings."""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import (
    CHAOS_KEYS,
    GENESIS_TIME,
    MODEL_ADDRS,
    MODEL_KEYS,
    CborGen,
    FuzzChain,
    TxFactory,
    body_value,
    chaos_coverage,
    run_in_process,
    shared_ref_bomb_fixed,
    sign_body,
    summary_line,
)
from voxpop.chain.abci import (
    ProposalStatus,
    RequestCheckTx,
    RequestPrepareProposal,
    RequestProcessProposal,
)
from voxpop.chain.encoding import encode
from voxpop.chain.errors import ChainError, TxDecodeError
from voxpop.chain.module import parse_msg
from voxpop.chain.tx import decode_tx
from voxpop.crypto.keys import verify_signature


@pytest.fixture
def fuzz_chain() -> Iterator[FuzzChain]:
    chain = FuzzChain()
    yield chain
    chain.close()


def test_short_campaign_finds_nothing() -> None:
    # Deep shared-reference bombs are left to bench/fuzz.py's watchdog (a regression would hang
    # here, not fail); test_finding1 below covers them with a deadline
    stats = run_in_process(20_000, seed=6, deep_bombs=False)
    problems = [
        f"{f.kind} {f.where}: {f.detail} hex={f.data_hex[:300]}" for f in stats.findings.values()
    ]
    assert stats.inputs == 20_000
    assert (stats.uncaught, stats.accepted_invalid, stats.mismatches) == (0, 0, 0), problems
    assert stats.max_us_per_byte <= 5, summary_line(stats)
    # The campaign reached every stage: valid txs were accepted, judged failures charged in blocks
    assert stats.accepted_by_kind.get("judged", 0) > 1000
    assert stats.accepted_by_kind.get("chaos", 0) > 100
    assert any(k.startswith("block:fail:") for k in stats.verdicts)
    assert stats.blocks >= 190
    # Chaos txs of every routed message type went through a block
    missing, _ = chaos_coverage(stats)
    assert missing == []


def test_chaos_inputs_reach_every_routed_message_type(fuzz_chain: FuzzChain) -> None:
    # Chaos inputs are made from the messages' declarations: over 4,000 of them, every type the
    # app routes appears, and well-formed per its declaration (a module that lands later is
    # covered the day it does, or this names it)
    routes = fuzz_chain.app.routes
    factory = TxFactory(random.Random(17), CborGen(random.Random(17)))
    seen: Counter[str] = Counter()
    well_formed: Counter[str] = Counter()
    for _ in range(4_000):
        inp = factory.chaos(GENESIS_TIME)
        for i, raw in enumerate(decode_tx(inp.data).body.msgs):
            try:
                msg, _ = parse_msg(routes, raw, f"msgs[{i}]")
            except ChainError:
                seen[raw.type] += 1
                continue
            for inner in (raw, *msg.inner_msgs()):
                seen[inner.type] += 1
                well_formed[inner.type] += 1
    assert sorted(set(routes) - set(seen)) == []
    assert sorted(set(routes) - set(well_formed)) == []
    assert set(seen) <= set(routes) | {"x/Nope"}


def run_every_step(chain: FuzzChain, tx: bytes) -> tuple[int, ProposalStatus, int]:
    """check_tx's code, process_proposal's status and the tx's code in a block; any exception
    propagates (which is the failure)."""
    app = chain.app
    height = app.last_height + 1
    code = app.check_tx(RequestCheckTx(tx)).code
    app.prepare_proposal(RequestPrepareProposal(0, (tx,), height, chain.time + 5))
    status = app.process_proposal(RequestProcessProposal((tx,), height, chain.time + 5)).status
    before = chain.account(MODEL_ADDRS[0])
    (result,) = chain.finalize([tx])
    assert chain.account(MODEL_ADDRS[0]) == before  # failed before its fee: nothing changed
    return code, status, result.code


def test_finding1_shared_reference_bomb_rejected_fast(fuzz_chain: FuzzChain) -> None:
    # 24 levels of x = [x, x] in 150 bytes: 2^24 leaves once shared references are expanded
    bomb = shared_ref_bomb_fixed(24)
    assert 140 <= len(bomb) <= 160
    t0 = time.perf_counter()
    with pytest.raises(TxDecodeError):
        decode_tx(bomb)
    assert time.perf_counter() - t0 < 0.05
    # And as a tx body, signed, through every step
    tx = sign_body(MODEL_KEYS[0], bomb)
    t0 = time.perf_counter()
    code, status, block_code = run_every_step(fuzz_chain, tx)
    assert time.perf_counter() - t0 < 0.5
    assert code == TxDecodeError.code and block_code == TxDecodeError.code
    assert status == ProposalStatus.REJECT


def test_finding2a_non_text_key_is_failed_tx_in_every_step(fuzz_chain: FuzzChain) -> None:
    key = MODEL_KEYS[0]
    send = {"from": MODEL_ADDRS[0], "to": MODEL_ADDRS[1], "amount": 5, 7: 0}
    tx = sign_body(key, encode(body_value(key, 0, [{"type": "bank/Send", "value": send}])))
    code, status, block_code = run_every_step(fuzz_chain, tx)
    assert code not in (0, 1) and block_code not in (0, 1)
    assert status in (ProposalStatus.ACCEPT, ProposalStatus.REJECT)


def test_finding2b_huge_bignum_is_failed_tx_in_every_step(fuzz_chain: FuzzChain) -> None:
    key = MODEL_KEYS[0]
    send = {"from": MODEL_ADDRS[0], "to": MODEL_ADDRS[1], "amount": 5}
    body = encode(body_value(key, 0, [{"type": "bank/Send", "value": send}]))
    huge = 10**4400  # over 4,300 digits: repr() of it raises ValueError
    # As the version (the case), and as a field the signature covers
    as_version = encode({"v": huge, "sig": key.sign(b"x"), "body": cbor2.loads(body)})
    as_amount = sign_body(
        key, encode(body_value(key, 0, [{"type": "bank/Send", "value": {**send, "amount": huge}}]))
    )
    for tx in (as_version, as_amount):
        code, _, block_code = run_every_step(fuzz_chain, tx)
        assert code not in (0, 1) and block_code not in (0, 1)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), position=st.integers(0, 1000), flip=st.integers(1, 255))
def test_property_decode_is_typed_and_any_change_after_signing_is_rejected(
    data: bytes, position: int, flip: int
) -> None:
    # Arbitrary bytes: decode_tx raises only typed errors
    with contextlib.suppress(ChainError):
        decode_tx(data)
    # A signed tx with one byte changed never decodes to a tx whose signature verifies
    key = CHAOS_KEYS[0]
    send = {"from": key.public_key.address, "to": MODEL_ADDRS[0], "amount": 1}
    good = bytearray(
        sign_body(key, encode(body_value(key, 0, [{"type": "bank/Send", "value": send}])))
    )
    good[position % len(good)] ^= flip
    try:
        tx = decode_tx(bytes(good))
    except ChainError:
        return
    assert not verify_signature(tx.body.pub_key, tx.sign_bytes, tx.signature)
