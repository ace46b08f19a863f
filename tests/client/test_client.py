"""The sync and async clients against a real solo node process, and against a lying one (the real
node's answers rewritten in transit): proofs that do not hold are never accepted."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tests.client.conftest import (
    ALICE,
    ALICE_ADDR,
    BOB,
    BOB_ADDR,
    FUNDS,
    AsyncTamperingTransport,
    Edit,
    TamperingTransport,
)
from voxpop.chain.encoding import decode_uint, encode_uint
from voxpop.chain.tx import tx_hash
from voxpop.client import (
    AsyncVoxClient,
    NotFoundError,
    ProofVerificationError,
    TxRejectedError,
    TxWaitTimeoutError,
    VoxClient,
    build_tx,
    msg_send,
    parse_amount,
    sign_tx,
)
from voxpop.client.testing import DEFAULT_CHAIN_ID, LocalNode
from voxpop.crypto import PrivateKey, encode_address
from voxpop.node.blockstore import block_hash, header_sign_bytes
from voxpop.node.service import BlockHeader

pytestmark = pytest.mark.slow

ATTACKER = PrivateKey(bytes([66]) * 32)


@pytest.fixture(scope="module", autouse=True)
def first_block(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        client.send(ALICE, BOB_ADDR, 1)


def genesis_validator(node: LocalNode) -> bytes:
    genesis = json.loads((node.home / "config" / "genesis.json").read_text())
    return base64.b64decode(genesis["validators"][0]["pub_key"]["value"])


# --- the sync client --------------------------------------------------------------------------


def test_sync_client(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        status = client.status()
        assert status.chain_id == DEFAULT_CHAIN_ID and status.node_mode == "solo"
        before = client.balance(BOB_ADDR)
        result = client.send(ALICE, BOB_ADDR, parse_amount("1.5vox"))
        assert result.code == 0 and result.height > 0
        assert client.balance(BOB_ADDR) == before + 1_500_000
        record = client.tx(result.tx_hash)
        assert record.height == result.height and record.result.code == 0
        block = client.block(result.height)
        assert block.txs[record.index] == record.tx
        assert client.block().header.height >= result.height
        assert client.auth_params().min_gas_price_den == 1000


def test_sync_client_sync_mode_and_wait(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        result = client.send(ALICE, BOB.public_key.address, 5, mode="sync")
        assert result.code == 0 and result.height == 0
        record = client.wait_for_tx(result.tx_hash, timeout=10)
        assert record.result.code == 0
        with pytest.raises(TxWaitTimeoutError):
            client.wait_for_tx(bytes(32), timeout=0.3, interval=0.1)


def test_account_verified(node: LocalNode) -> None:
    with VoxClient(node.url, trusted_validator_keys=[genesis_validator(node)]) as client:
        info = client.account(ALICE_ADDR, prove=True)
        assert info.verified and info.sequence >= 1 and info.pub_key == ALICE.public_key.raw
        assert info.balance_entry is not None and info.account_entry is not None
        assert decode_uint(info.balance_entry.value) == info.balance
        unverified = client.account(ALICE_ADDR, height=info.height)
        assert not unverified.verified and unverified.balance == info.balance
        # An account that does not exist is proven absent
        nobody = client.account(encode_address(bytes([0xAB]) * 20), prove=True)
        assert nobody.verified and (nobody.balance, nobody.sequence, nobody.pub_key) == (0, 0, None)
        # A historic height is verified against that height's header
        old = client.account(ALICE_ADDR, height=info.height - 1, prove=True)
        assert old.verified and old.height == info.height - 1 and old.sequence < info.sequence
        assert client.balance(BOB_ADDR, prove=True) == client.balance(BOB_ADDR)


def test_proofs_fetch_each_signed_header_once_and_never_a_whole_block(node: LocalNode) -> None:
    paths: list[str] = []

    def record(path: str, body: Any) -> Any:
        paths.append(path)
        return None

    transport = TamperingTransport(record)
    with VoxClient(node.url, transport=transport) as client:
        first = client.query("/bank/supply", prove=True)
        again = client.query("/bank/supply", height=first.height, prove=True)
        assert first.verified and again.verified
    headers = [p for p in paths if p.startswith("/v1/blocks/")]
    assert headers == [f"/v1/blocks/{first.height}/header"], paths


def test_query_verified(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        supply = client.query("/bank/supply", prove=True)
        assert supply.verified and decode_uint(supply.value) >= FUNDS
        assert client.trust.validator_keys == {genesis_validator(node)}  # learned on first use
        params = client.query("/auth/params", height=supply.height, prove=True)
        assert params.verified and params.height == supply.height


def test_errors_are_typed(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        with pytest.raises(TxRejectedError) as rejected:
            client.send(ALICE, BOB_ADDR, FUNDS * 2)
        assert rejected.value.code == "insufficient_funds"
        assert (rejected.value.numeric_code, rejected.value.status) == (60, 400)
        with pytest.raises(TxRejectedError) as rejected:
            client.send(ALICE, BOB_ADDR, 1, sequence=10_000)
        assert rejected.value.code == "wrong_sequence"
        with pytest.raises(NotFoundError) as missing:
            client.block(10**9)
        assert missing.value.code == "block_not_found"
        with pytest.raises(NotFoundError) as missing:
            client.tx(bytes(32))
        assert missing.value.code == "tx_not_found"


def test_broadcast_batch(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        status = client.status()
        sequence = client.account(ALICE_ADDR).sequence
        txs = []
        for i in range(20):
            body = build_tx(
                chain_id=status.chain_id,
                pub_key=ALICE.public_key.raw,
                sequence=sequence + i,
                msgs=[msg_send(ALICE.public_key.address, BOB.public_key.address, 1)],
                fee=100,
                gas_limit=100_000,
            )
            txs.append(sign_tx(body, ALICE))
        txs.append(txs[0])  # a duplicate: rejected, and reported in its place
        results = client.broadcast_batch(txs)
        assert [r.code for r in results[:20]] == [0] * 20
        assert results[20].code != 0 and results[20].tx_hash == tx_hash(txs[0])
        client.wait_for_tx(results[19].tx_hash, timeout=10)
        assert client.account(ALICE_ADDR).sequence == sequence + 20


# --- the async client -------------------------------------------------------------------------


async def test_async_client_and_stream(node: LocalNode) -> None:
    async with AsyncVoxClient(node.url) as client:
        status = await client.status()
        assert status.chain_id == DEFAULT_CHAIN_ID
        kinds: list[str] = []

        async def watch() -> int:
            async for event in client.stream():
                kinds.append(event.kind)
                if event.kind == "block":
                    return event.height
            raise AssertionError("the stream ended")

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        result = await client.send(ALICE, BOB_ADDR, 9)
        assert result.code == 0 and result.height > 0
        assert await asyncio.wait_for(watcher, 15) == result.height
        assert kinds[-1] == "block"
        info = await client.account(BOB_ADDR, prove=True)
        assert info.verified and info.balance == await client.balance(BOB_ADDR)
        assert (await client.tx(result.tx_hash)).height == result.height
        assert (await client.block(result.height)).header.height == result.height
        sync_result = await client.send(ALICE, BOB_ADDR, 1, mode="sync")
        assert (await client.wait_for_tx(sync_result.tx_hash, timeout=10)).result.code == 0
        with pytest.raises(TxRejectedError):
            await client.broadcast(b"\xa0")
        supply = await client.query("/bank/supply", prove=True)
        assert supply.verified


# --- a lying node -----------------------------------------------------------------------------


def _hexflip(text: str, index: int = -1) -> str:
    raw = bytearray(bytes.fromhex(text))
    raw[index] ^= 1
    return raw.hex()


def _on(path_part: str, change: Any) -> Edit:
    def edit(path: str, data: Any) -> Any:
        if path_part in path and isinstance(data, dict) and "error" not in data:
            return change(data)
        return None

    return edit


def _inflate_reported_balance(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "balance": d["balance"] + 1}


def _inflate_proven_balance(d: dict[str, Any]) -> dict[str, Any]:
    value = decode_uint(bytes.fromhex(d["proof"]["balance"]["value"])) + 1_000_000
    entry = {**d["proof"]["balance"], "value": encode_uint(value).hex()}
    return {**d, "balance": value, "proof": {**d["proof"], "balance": entry}}


def _flip_proof(name: str) -> Any:
    def change(d: dict[str, Any]) -> dict[str, Any]:
        entry = {**d["proof"][name], "proof": _hexflip(d["proof"][name]["proof"])}
        return {**d, "proof": {**d["proof"], name: entry}}

    return change


def _drop_account(d: dict[str, Any]) -> dict[str, Any]:
    entry = {**d["proof"]["account"], "value": ""}
    return {**d, "sequence": 0, "pub_key": None, "proof": {**d["proof"], "account": entry}}


def _other_height(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "height": d["height"] - 1}


def _block_field(field: str) -> Any:
    def change(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "header": {**d["header"], field: _hexflip(d["header"][field])}}

    return change


def _resign(d: dict[str, Any]) -> dict[str, Any]:
    """The attacker forges the state root and signs the header with its own key."""
    h = d["header"]
    header = BlockHeader(
        chain_id=h["chain_id"],
        height=h["height"],
        time_unix=h["time_unix"],
        last_block_hash=bytes.fromhex(h["last_block_hash"]),
        data_hash=bytes.fromhex(h["data_hash"]),
        app_hash=bytes(32),
        proposer=bytes.fromhex(h["proposer"]),
        num_txs=h["num_txs"],
    )
    return {
        **d,
        "header": {**h, "app_hash": header.app_hash.hex()},
        "hash": block_hash(header).hex(),
        "signature": ATTACKER.sign(header_sign_bytes(header)).hex(),
        "signer_pub_key": ATTACKER.public_key.raw.hex(),
    }


def _bad_signature(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "signature": _hexflip(d["signature"], 0)}


LIES: list[tuple[str, Edit]] = [
    ("reported balance differs from the proof", _on("/v1/accounts/", _inflate_reported_balance)),
    ("proven balance changed", _on("/v1/accounts/", _inflate_proven_balance)),
    ("balance proof bit flipped", _on("/v1/accounts/", _flip_proof("balance"))),
    ("account proof bit flipped", _on("/v1/accounts/", _flip_proof("account"))),
    ("account claimed absent", _on("/v1/accounts/", _drop_account)),
    ("other height", _on("/v1/accounts/", _other_height)),
    ("header app hash changed", _on("/v1/blocks/", _block_field("app_hash"))),
    ("header data hash changed", _on("/v1/blocks/", _block_field("data_hash"))),
    ("block hash changed", _on("/v1/blocks/", lambda d: {**d, "hash": _hexflip(d["hash"])})),
    ("signature changed", _on("/v1/blocks/", _bad_signature)),
    ("header resigned by another key", _on("/v1/blocks/", _resign)),
]


@pytest.mark.parametrize(("lie", "edit"), LIES, ids=[name for name, _ in LIES])
def test_invalid_account_proof_rejected(node: LocalNode, lie: str, edit: Edit) -> None:
    trusted = [genesis_validator(node)]
    with VoxClient(node.url, trusted_validator_keys=trusted) as honest:
        assert honest.account(ALICE_ADDR, prove=True).verified
    with (
        VoxClient(
            node.url, trusted_validator_keys=trusted, transport=TamperingTransport(edit)
        ) as client,
        pytest.raises(ProofVerificationError),
    ):
        client.account(ALICE_ADDR, prove=True)


async def test_invalid_proofs_rejected_by_async_client(node: LocalNode) -> None:
    trusted = [genesis_validator(node)]
    for _, edit in LIES:
        transport = AsyncTamperingTransport(edit)
        async with AsyncVoxClient(
            node.url, trusted_validator_keys=trusted, transport=transport
        ) as client:
            with pytest.raises(ProofVerificationError):
                await client.account(ALICE_ADDR, prove=True)


def test_invalid_query_proof_rejected(node: LocalNode) -> None:
    def change_value(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "value": encode_uint(1).hex()}

    def other_key(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "key": b"bank/params".hex()}

    for edit in (
        _on("/v1/query", change_value),
        _on("/v1/query", other_key),
        _on("/v1/query", lambda d: {**d, "proof": _hexflip(d["proof"])}),
        _on("/v1/blocks/", _resign),
    ):
        tampered = VoxClient(node.url, transport=TamperingTransport(edit))
        with tampered as client, pytest.raises(ProofVerificationError):
            client.query("/bank/supply", prove=True)


def test_invalid_untrusted_validator_reported_by_node(node: LocalNode) -> None:
    """A node that reports a foreign validator key is not believed over the caller's trust."""

    def foreign_key(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "validator_pub_keys": [ATTACKER.public_key.raw.hex()]}

    edits = [_on("/v1/status", foreign_key), _on("/v1/blocks/", _resign)]

    def both(path: str, data: Any) -> Any:
        for edit in edits:
            changed = edit(path, data)
            if changed is not None:
                return changed
        return None

    trusted = [genesis_validator(node)]
    with (
        VoxClient(
            node.url, trusted_validator_keys=trusted, transport=TamperingTransport(both)
        ) as client,
        pytest.raises(ProofVerificationError, match="not a trusted validator"),
    ):
        client.account(ALICE_ADDR, prove=True)


def test_trust_can_be_fixed_up_front(node: LocalNode) -> None:
    with (
        VoxClient(
            node.url, chain_id="another-chain", trusted_validator_keys=[genesis_validator(node)]
        ) as client,
        pytest.raises(ProofVerificationError, match="chain"),
    ):
        client.account(ALICE_ADDR, prove=True)
    misled = VoxClient(node.url, trusted_validator_keys=[ATTACKER.public_key.raw])
    with misled as client, pytest.raises(ProofVerificationError, match="not a trusted validator"):
        client.query("/bank/supply", prove=True)
