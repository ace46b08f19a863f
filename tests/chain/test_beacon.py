"""The randomness beacon on a real app and store: VRF vote extensions, the block entry's rules,
and the seed they move (docs/protocol/beacon.md)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from voxpop.chain.abci import (
    BlockIDFlag,
    CheckTxType,
    CommitInfo,
    ProposalStatus,
    RequestCheckTx,
    RequestExtendVote,
    RequestFinalizeBlock,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    RequestVerifyVoteExtension,
    Validator,
    ValidatorUpdate,
    VerifyStatus,
    VoteInfo,
)
from voxpop.chain.app import VoxApp
from voxpop.chain.encoding import encode
from voxpop.chain.errors import (
    BeaconEntryMalformedError,
    BeaconEntryMissingError,
    BeaconEntryUnexpectedError,
    BeaconPowerTooLowError,
    BeaconProofInvalidError,
    BeaconUnknownValidatorError,
    ChainError,
    TxDecodeError,
)
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.beacon import entry, state
from voxpop.crypto import vrf
from voxpop.crypto.keys import PrivateKey
from voxpop.node.blockstore import AUX_DBS
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.init import init_home
from voxpop.node.solo import SoloNode
from voxpop.node.validator_key import beacon_prover
from voxpop.store import MerkleStore

CHAIN_ID = "voxpop-beacon-test"
TIME = 1_800_000_000
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
OUTSIDER = PrivateKey(b"\x63" * 32)

# The protocol document's test vector (docs/protocol/beacon.md)
VECTOR_KEY = PrivateKey(bytes(range(32)))


def address(key: PrivateKey) -> bytes:
    return state.consensus_address(key.public_key.raw)


@dataclass
class Net:
    """One app, and the validators whose votes it is handed (as CometBFT would)."""

    app: VoxApp
    powers: dict[bytes, int]  # consensus address -> power
    height: int = 0

    def extension(self, key: PrivateKey, height: int) -> bytes:
        return vrf.prove(key.seed, state.vrf_input(CHAIN_ID, height))

    def votes(
        self, height: int, signers: Sequence[PrivateKey], *, extended: bool = True
    ) -> CommitInfo:
        """The commit of `height`: every validator, COMMIT for `signers` (with extensions)."""
        if height < 1:
            return CommitInfo()
        by_address = {address(k): k for k in signers}
        votes = []
        for addr, power in sorted(self.powers.items()):
            key = by_address.get(addr)
            votes.append(
                VoteInfo(
                    Validator(addr, power),
                    BlockIDFlag.COMMIT if key else BlockIDFlag.ABSENT,
                    self.extension(key, height) if key and extended else b"",
                )
            )
        return CommitInfo(0, tuple(votes))

    def propose(self, signers: Sequence[PrivateKey] = KEYS) -> tuple[bytes, ...]:
        h = self.height + 1
        local = self.votes(h - 1, signers)
        return self.app.prepare_proposal(
            RequestPrepareProposal(1 << 20, (), h, TIME + h, local_last_commit=local)
        ).txs

    def process(self, txs: Sequence[bytes], signers: Sequence[PrivateKey] = KEYS) -> bool:
        h = self.height + 1
        last = self.votes(h - 1, signers, extended=False)
        verdict = self.app.process_proposal(
            RequestProcessProposal(tuple(txs), h, TIME + h, proposed_last_commit=last)
        )
        return verdict.status == ProposalStatus.ACCEPT

    def check(self, txs: Sequence[bytes], signers: Sequence[PrivateKey] = KEYS) -> None:
        """ProcessProposal's beacon rules, raising their typed error."""
        h = self.height + 1
        last = self.votes(h - 1, signers, extended=False)
        entry.check_entry(self.app.committed, CHAIN_ID, h, tuple(txs), last)

    def commit(self, txs: Sequence[bytes], signers: Sequence[PrivateKey] = KEYS) -> None:
        h = self.height + 1
        last = self.votes(h - 1, signers, extended=False)
        self.app.finalize_block(
            RequestFinalizeBlock(tuple(txs), h, TIME + h, decided_last_commit=last)
        )
        self.app.commit()
        self.height = h

    def block(self, signers: Sequence[PrivateKey] = KEYS) -> tuple[bytes, ...]:
        txs = self.propose(signers)
        assert self.process(txs, signers)
        self.commit(txs, signers)
        return txs

    @property
    def seed(self) -> bytes:
        return state.epoch_seed(self.app.committed)


def start(path: Path, enable_height: int, powers: Sequence[int] = (10, 10, 10, 10)) -> Net:
    store = MerkleStore(path, aux_dbs=AUX_DBS, keep_versions=10)
    app = VoxApp(store)
    validators = tuple(
        ValidatorUpdate(k.public_key.raw, p) for k, p in zip(KEYS, powers, strict=True)
    )
    app.init_chain(
        RequestInitChain(
            time_unix=TIME,
            chain_id=CHAIN_ID,
            app_state_bytes=json.dumps(default_app_state([])).encode(),
            validators=validators,
            vote_extensions_enable_height=enable_height,
        )
    )
    net = Net(app, {address(k): p for k, p in zip(KEYS, powers, strict=True)})
    net.block()  # block 1: no previous votes, so no entry
    return net


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = start(tmp_path, enable_height=1)
    yield n
    n.app.store.close()


def test_seed_starts_from_the_chain_id_and_moves_every_block(net: Net) -> None:
    assert net.seed == hashlib.sha256(b"voxpop/beacon/genesis" + CHAIN_ID.encode()).digest()
    seeds = [net.seed]
    for _ in range(3):
        previous = net.seed
        txs = net.block()
        assert entry.is_entry(txs[0])
        # The new seed folds the validators' VRF outputs, sorted by address, into the old one
        outputs = sorted(
            (address(k), vrf.proof_to_hash(net.extension(k, net.height - 1))) for k in KEYS
        )
        expected = hashlib.sha256(b"voxpop/beacon/seed" + previous)
        for addr, output in outputs:
            expected.update(addr + output)
        assert net.seed == expected.digest()
        seeds.append(net.seed)
    assert len(set(seeds)) == 4


def test_a_proposer_includes_every_valid_extension_and_the_entry_counts_in_the_block(
    net: Net,
) -> None:
    txs = net.propose(KEYS[:3])
    assert [a for a, _ in entry.decode_entry(txs[0])] == sorted(address(k) for k in KEYS[:3])
    assert net.process(txs, KEYS[:3])


def test_extend_vote_and_verify_vote_extension(net: Net) -> None:
    h = net.height
    # Without a prover (a node that is not a validator) the extension is empty
    assert net.app.extend_vote(RequestExtendVote(h)).vote_extension == b""
    net.app.beacon_prover = beacon_prover(KEYS[0])
    ext = net.app.extend_vote(RequestExtendVote(h)).vote_extension
    assert ext == net.extension(KEYS[0], h)

    def verify(who: PrivateKey, extension: bytes, height: int = h) -> VerifyStatus:
        req = RequestVerifyVoteExtension(address(who), height, extension)
        return net.app.verify_vote_extension(req).status

    assert verify(KEYS[0], ext) == VerifyStatus.ACCEPT
    assert verify(KEYS[1], ext) == VerifyStatus.REJECT  # another validator's proof
    assert verify(KEYS[0], ext, h + 1) == VerifyStatus.REJECT  # another height's
    assert verify(KEYS[0], ext[:-1] + bytes([ext[-1] ^ 1])) == VerifyStatus.REJECT
    assert verify(KEYS[0], b"") == VerifyStatus.REJECT
    assert verify(OUTSIDER, net.extension(OUTSIDER, h)) == VerifyStatus.REJECT


def test_process_proposal_refuses_bad_entries(net: Net) -> None:
    txs = net.propose()
    votes = entry.decode_entry(txs[0])
    forged = list(votes)
    forged[0] = (forged[0][0], forged[1][1])  # one validator's proof under another's name
    outsider = [*votes, (address(OUTSIDER), net.extension(OUTSIDER, net.height))]
    cases: list[tuple[tuple[bytes, ...], type[ChainError]]] = [
        ((), BeaconEntryMissingError),
        (txs[1:], BeaconEntryMissingError),
        ((b"\xa1\x66beacon\x01",), BeaconEntryMalformedError),
        ((entry.encode_entry(votes)[:-1],), BeaconEntryMalformedError),
        ((entry.encode_entry(votes) + b"\x00",), BeaconEntryMalformedError),
        ((entry.encode_entry(forged),), BeaconProofInvalidError),
        ((entry.encode_entry(outsider),), BeaconUnknownValidatorError),
        ((entry.encode_entry(votes[:2]),), BeaconPowerTooLowError),  # 20 of 40: not > 2/3
    ]
    for bad, error in cases:
        with pytest.raises(error):
            net.check(bad)
        assert not net.process(bad)
    # Pairs out of address order (the same pairs, one encoding only)
    reordered = encode({entry.ENTRY_KEY: [[a, p] for a, p in reversed(votes)]})
    with pytest.raises(BeaconEntryMalformedError):
        entry.decode_entry(reordered)
    # An entry anywhere but first is an undecodable tx
    assert not net.process((txs[0], txs[0]))
    # 3 of 4 equal powers is more than 2/3
    assert net.process((entry.encode_entry(votes[:3]),))
    assert net.process(txs)


def test_an_entry_is_never_a_tx(net: Net) -> None:
    txs = net.propose()
    res = net.app.check_tx(RequestCheckTx(txs[0], CheckTxType.NEW))
    assert res.code == TxDecodeError.code
    # Nor does a proposer take one from the mempool
    h = net.height + 1
    local = net.votes(h - 1, KEYS)
    proposal = net.app.prepare_proposal(
        RequestPrepareProposal(1 << 20, (txs[0],), h, TIME + h, local_last_commit=local)
    ).txs
    assert len(proposal) == 1


def test_power_is_weighed_not_counted(tmp_path: Path) -> None:
    net = start(tmp_path, enable_height=1, powers=(70, 10, 10, 10))
    try:
        whale = net.propose(KEYS[:1])
        assert net.process(whale, KEYS[:1])  # 70 of 100
        three = net.propose(KEYS[1:])
        with pytest.raises(BeaconPowerTooLowError):
            net.check(three, KEYS[1:])  # 30 of 100
    finally:
        net.app.store.close()


def test_without_vote_extensions_the_seed_stays_and_blocks_carry_no_entry(
    tmp_path: Path,
) -> None:
    net = start(tmp_path, enable_height=0)
    try:
        genesis = net.seed
        for _ in range(3):
            txs = net.block()
            assert txs == ()
        assert net.seed == genesis
        # An entry where none is due is refused
        other = start(tmp_path / "on", enable_height=1)
        other.block()
        with pytest.raises(BeaconEntryUnexpectedError):
            net.check(other.propose())
        other.app.store.close()
        assert net.app.extend_vote(RequestExtendVote(net.height)).vote_extension == b""
    finally:
        net.app.store.close()


def test_enable_height_later_than_the_first_block(tmp_path: Path) -> None:
    net = start(tmp_path, enable_height=3)
    try:
        genesis = net.seed
        assert net.block() == ()  # block 2: votes of 1 carry none
        assert net.block() == ()  # block 3: votes of 2 carry none
        assert net.seed == genesis
        assert entry.is_entry(net.block()[0])  # block 4: the votes of 3 do
        assert net.seed != genesis
    finally:
        net.app.store.close()


def test_vector() -> None:
    """The worked example of docs/protocol/beacon.md."""
    alpha = state.vrf_input("voxpop-1", 7)
    assert alpha.hex() == b"voxpop/beacon/v1voxpop-1".hex() + "0000000000000007"
    proof = vrf.prove(VECTOR_KEY.seed, alpha)
    output = vrf.proof_to_hash(proof)
    addr = address(VECTOR_KEY)
    seed = state.next_seed(state.genesis_seed("voxpop-1"), [(addr, output)])
    text = (Path(__file__).resolve().parents[2] / "docs/protocol/beacon.md").read_text()
    for value in (addr, proof, output, state.genesis_seed("voxpop-1"), seed):
        assert value.hex() in text
    assert entry.encode_entry([(addr, proof)]).hex() in text


async def test_a_solo_node_moves_the_seed_with_its_own_extension(tmp_path: Path) -> None:
    """Solo mode makes its own extension with its own key, as a CometBFT validator would, and
    survives a restart (the extension is made again, not kept)."""
    home = NodeHome(tmp_path / "solo")
    config = NodeConfig()
    config.solo.block_interval_ms = 20
    config.solo.create_empty_blocks = True
    init_home(home, chain_id="voxpop-solo", config=config)
    seeds: list[bytes] = []
    for _ in range(2):  # start, stop, start again
        node = SoloNode(home)
        await node.start()
        try:
            target = node.app.last_height + 3
            while node.app.last_height < target:
                await asyncio.sleep(0.02)
            seeds.extend(
                node.query(RequestQuery("/beacon/seed", height=h)).value
                for h in range(target - 2, target + 1)
            )
        finally:
            await node.stop()
    assert len(set(seeds)) == len(seeds) == 6
