"""The voxpop state machine behind the ABCI-mirrored `Application` interface.

One ordered pipeline per block, in one place (`finalize_block`): begin-block hooks of every module
in
order, then each tx (ante: authenticate and charge; then its messages, atomically), then end-block
hooks. The app does no I/O of its own besides the store it is handed; block height and time come
from the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from voxpop import __version__
from voxpop.chain.abci import (
    CheckTxType,
    Event,
    EventAttribute,
    ExecTxResult,
    ProposalStatus,
    RequestCheckTx,
    RequestExtendVote,
    RequestFinalizeBlock,
    RequestInfo,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    RequestVerifyVoteExtension,
    ResponseCheckTx,
    ResponseCommit,
    ResponseExtendVote,
    ResponseFinalizeBlock,
    ResponseInfo,
    ResponseInitChain,
    ResponsePrepareProposal,
    ResponseProcessProposal,
    ResponseQuery,
    ResponseVerifyVoteExtension,
    ValidatorUpdate,
    VerifyStatus,
)
from voxpop.chain.check_state import PendingTx, ReadTrackingBranch
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import decode_uint, encode, encode_uint
from voxpop.chain.errors import (
    CODESPACE,
    ChainError,
    HeightNotAvailableError,
    InvalidGenesisError,
    InvalidQueryError,
    TxDecodeError,
    TxTooLargeError,
    UnauthorizedError,
)
from voxpop.chain.gas import GasMeter, InfiniteGasMeter
from voxpop.chain.genesis import init_genesis_state
from voxpop.chain.kv import Branch, CachedView, KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import ComputedQuery, Module, Msg, MsgRoute, parse_msg
from voxpop.chain.modules.auth.ante import process_ante
from voxpop.chain.modules.auth.state import AuthParams, read_params
from voxpop.chain.modules.beacon import entry as beacon_entry
from voxpop.chain.modules.beacon import state as beacon
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.feemarket import state as feemarket
from voxpop.chain.modules.feemarket.ordering import TipOrder
from voxpop.chain.modules.gov import state as gov_state
from voxpop.chain.modules.gov.upgrades import Migration
from voxpop.chain.modules.grant.messages import MsgClaimGrant
from voxpop.chain.registry import computed_query, default_modules, list_route, query_key
from voxpop.chain.tx import Tx, decode_tx, tx_hash
from voxpop.chain.txcache import TxCache
from voxpop.crypto.keys import address_from_pubkey, verify_signature
from voxpop.store import MerkleStore, VersionError

APP_VERSION = 1
CHAIN_ID_KEY = b"app/chain_id"
META_DB = "meta"
LAST_BLOCK_TIME_KEY = b"last_block_time"


@dataclass(slots=True)
class _PendingBlock:
    height: int
    time_unix: int
    app_hash: bytes
    changes: dict[bytes, bytes | None]
    txs: tuple[bytes, ...]


class VoxApp:
    """The application. Not thread-safe: the node calls it from one thread, in ABCI order."""

    def __init__(self, store: MerkleStore, modules: Sequence[Module] | None = None) -> None:
        self.store = store
        self.modules = list(modules) if modules is not None else default_modules()
        self.routes: dict[str, MsgRoute] = {}
        for module in self.modules:
            self.routes.update(module.msg_routes())
        for module in self.modules:
            module.bind_routes(self.routes)
        self.committed = CachedView(store.get, store.iterate)
        self._check = Branch(self.committed)
        # Txs CheckTx accepted that no block holds yet, in acceptance order (see check_state)
        self._mempool: dict[bytes, PendingTx] = {}
        # The answers for RECHECK of the txs the last Commit's re-basing evicted
        self._evicted: dict[bytes, ResponseCheckTx] = {}
        # Since the last Commit: whether no new tx came yet, and how many pending txs were not
        # rechecked
        self._rechecking = False
        self._unconfirmed = 0
        self._genesis: Branch | None = None
        self._block: Branch | None = None
        self._pending: _PendingBlock | None = None
        self._aux: list[tuple[str, bytes, bytes | None]] = []
        self.tx_cache = TxCache()
        self._last_block_time: int | None = None
        # The chain's tx size limit, for the pre-verifier (which reads no state): set at commit
        self._max_tx_bytes = read_params(self.committed).max_tx_bytes if store.version else 0
        # The VRF prover over this node's consensus key (alpha -> proof), for its vote
        # extensions: handed in by the node (voxpop.node.app_factory), so the state machine
        # reads no key. None on a node that is not a validator.
        self.beacon_prover: Callable[[bytes], bytes] | None = None
        # A migration the next block runs first (a solo chain's own upgrade: see schedule_upgrade)
        self._scheduled_upgrade: tuple[str, Migration] | None = None

    # --- facts about the committed chain --------------------------------------------------------

    @property
    def chain_id(self) -> str:
        raw = self.committed.get(CHAIN_ID_KEY)
        if raw is None and self._genesis is not None:
            raw = self._genesis.get(CHAIN_ID_KEY)
        return raw.decode() if raw else ""

    @property
    def last_height(self) -> int:
        return self.store.version

    @property
    def last_app_hash(self) -> bytes:
        return self.store.root_hash() if self.store.version else b""

    @property
    def last_block_time(self) -> int:
        # Read by every check_tx: kept in memory, loaded once, updated at each commit
        if self._last_block_time is None:
            raw = self.store.get_aux(META_DB, LAST_BLOCK_TIME_KEY)
            self._last_block_time = decode_uint(raw) if raw else 0
        return self._last_block_time

    # --- Info / InitChain -----------------------------------------------------------------------

    def info(self, req: RequestInfo) -> ResponseInfo:
        return ResponseInfo(
            data="voxpop",
            version=__version__,
            app_version=APP_VERSION,
            last_block_height=self.last_height,
            last_block_app_hash=self.last_app_hash,
        )

    def init_chain(self, req: RequestInitChain) -> ResponseInitChain:
        """Load genesis into a branch that the first block builds on.

        Genesis is committed together with the first block, so a crash before that leaves the app
        at height 0 and the block producer simply calls init_chain again. The app hash returned is
        empty (CometBFT then keeps the genesis file's); the first block's app hash covers genesis.
        """
        # Verify the chain has not started
        if self.store.version != 0:
            raise InvalidGenesisError("init_chain on a chain that already has blocks")
        try:
            app_state = json.loads(req.app_state_bytes or b"{}")
        except ValueError as exc:
            raise InvalidGenesisError(f"app_state is not JSON: {exc}") from None
        branch = Branch(self.committed)
        block = BlockInfo(req.chain_id, req.initial_height, req.time_unix)
        ctx = Context(block, branch, InfiniteGasMeter(), AuthParams().gas)
        ctx.set(CHAIN_ID_KEY, req.chain_id.encode())
        init_genesis_state(self.modules, ctx, app_state)
        initial = [u for module in self.modules for u in module.initial_validators(ctx)]
        beacon.set_extensions_from(ctx, req.vote_extensions_enable_height, req.initial_height)
        beacon.record_keys(ctx, initial or req.validators)
        self._genesis = branch
        self._check = Branch(branch)
        self._max_tx_bytes = read_params(branch).max_tx_bytes
        # A genesis with staking validators defines the set; CometBFT then uses it instead of
        # genesis.json's list
        return ResponseInitChain(
            validators=tuple(initial) if initial else req.validators, app_hash=b""
        )

    def export_genesis(self) -> dict[str, Any]:
        return {m.name: m.export_genesis(self.committed) for m in self.modules}

    # --- Mempool --------------------------------------------------------------------------------

    def check_tx(self, req: RequestCheckTx) -> ResponseCheckTx:
        """Run the tx against the mempool's state; keep its effects there only if it passes.

        A RECHECK (CometBFT re-sends every tx still in its mempool after each block) is answered
        from the verdicts the Commit's re-basing of the check state reached (`_rebase_check`).
        """
        if req.type == CheckTxType.RECHECK:
            key = tx_hash(req.tx)
            pending = self._mempool.get(key)
            if pending is not None:
                if not pending.seen:
                    pending.seen = True
                    self._unconfirmed -= 1
                return pending.response
            evicted = self._evicted.get(key)
            if evicted is not None:
                return evicted
            # A tx this app never accepted (or already forgot): checked like a new one
        elif self._rechecking:
            self._rechecking = False
            self._forget_not_rechecked()
        try:
            tx, verified = self._decode(req.tx, read_params(self._check).max_tx_bytes)
        except ChainError as exc:
            return ResponseCheckTx(code=exc.code, log=exc.message, codespace=CODESPACE)
        outcome = self._check_into(self._check, tx, verified, self._check_block())
        if isinstance(outcome, ResponseCheckTx):
            return outcome
        self._mempool.pop(tx.hash, None)  # keep acceptance order
        self._mempool[tx.hash] = outcome
        return outcome.response

    def _check_block(self) -> BlockInfo:
        return BlockInfo(self.chain_id, self.last_height + 1, self.last_block_time)

    def _check_into(
        self, state: Branch, tx: Tx, verified: bool, block: BlockInfo
    ) -> PendingTx | ResponseCheckTx:
        """Run `tx` in check mode on `state`: its record (its effects written to `state`) if it
        passes, else the error answer (and `state` unchanged)."""
        branch = ReadTrackingBranch(state)
        try:
            msgs = self._decode_msgs(tx)
            result = self._run_tx(branch, tx, verified, block, is_check=True, msgs=msgs)
        except ChainError as exc:
            return ResponseCheckTx(code=exc.code, log=exc.message, codespace=CODESPACE)
        response = ResponseCheckTx(
            code=0,
            gas_wanted=result.gas_wanted,
            gas_used=result.gas_used,
            sender=addr_text(address_from_pubkey(tx.body.pub_key)),
            priority=tx.body.fee * 1_000_000 // max(tx.body.gas_limit, 1),
        )
        pending = PendingTx.record(tx, [msg.TYPE for msg, _ in msgs], response, branch)
        branch.write()
        return pending

    def _rebase_check(self, gone: set[bytes]) -> None:
        """Rebuild the check state on committed state: replay the pending txs but those in
        `gone` in order, carrying over those that would read the same values, re-running the
        others, evicting those that now fail (see voxpop.chain.check_state).

        At Commit, `gone` are the block's txs. A tx not accepted or rechecked since the previous
        Commit (`seen`) is no longer in CometBFT's mempool either (evicted, or refused after
        CheckTx when the mempool was full), so it goes too.
        """
        check = Branch(self.committed)
        block = self._check_block()
        kept: dict[bytes, PendingTx] = {}
        evicted: dict[bytes, ResponseCheckTx] = {}
        for key, pending in self._mempool.items():
            if key in gone or not pending.seen:
                continue
            if pending.still_valid_on(check):
                check.writes.update(pending.writes)
                kept[key] = pending
                continue
            outcome = self._check_into(check, pending.tx, True, block)
            if isinstance(outcome, ResponseCheckTx):
                evicted[key] = outcome
            else:
                kept[key] = outcome
        self._check = check
        self._mempool = kept
        self._evicted = evicted

    def _forget_not_rechecked(self) -> None:
        """Before the first new tx after a Commit: drop the pending txs CometBFT did not recheck.

        CometBFT rechecks its whole mempool right after Commit, on the mempool connection, before
        any new tx, so a pending tx not rechecked by now is not in its mempool (or recheck is
        off: then this is the reset-at-Commit design)."""
        if self._unconfirmed:
            self._rebase_check(set())
            self._unconfirmed = 0

    def preverify(self, txs: Sequence[bytes]) -> None:
        """Decode txs and verify their signatures ahead of check_tx, into the tx cache.

        Reads no state, so a node may call it from another thread while the app works: PyNaCl
        releases the GIL while it verifies, so this uses a second core. Only txs within the
        chain's size limit are decoded, and only those whose signature verifies are kept.
        """
        max_bytes = self._max_tx_bytes
        for raw in txs:
            # Verify the size first: oversize txs are not worth decoding (check_tx refuses them)
            if len(raw) > max_bytes:
                continue
            try:
                tx = decode_tx(raw, max_bytes)
            except Exception:  # check_tx decodes again and answers with the error's code
                continue
            if self.tx_cache.get(tx.hash) is None and verify_signature(
                tx.body.pub_key, tx.sign_bytes, tx.signature
            ):
                self.tx_cache.put(tx)

    # --- Block production -----------------------------------------------------------------------

    def prepare_proposal(self, req: RequestPrepareProposal) -> ResponsePrepareProposal:
        """Take mempool txs by tip (feemarket.ordering) while they fit the block's byte and gas
        limits.

        Once a signer's tx is left out, so are its later ones: they would fail `wrong_sequence`.
        """
        params = self._params()
        max_bytes = (
            min(req.max_tx_bytes, params.max_block_bytes)
            if req.max_tx_bytes > 0
            else params.max_block_bytes
        )
        chosen: list[bytes] = []
        # The beacon entry goes first, and counts against the block's bytes
        entry = beacon_entry.build_entry(
            self._state(), self.chain_id, req.height, req.local_last_commit
        )
        if entry is not None:
            chosen.append(entry)
            max_bytes -= len(entry)
        size = gas = 0
        decoded = []
        for raw in req.txs:
            try:
                decoded.append((raw, self._decode(raw, params.max_tx_bytes)[0]))
            except ChainError:
                continue
        # Highest tip first, each signer's txs in order; a signer with a tx left out is done
        order = TipOrder(decoded, feemarket.read_base_price(self._state()))
        while (item := order.next()) is not None:
            raw, tx = item
            if size + len(raw) > max_bytes or gas + tx.body.gas_limit > params.max_block_gas:
                continue
            order.taken()
            chosen.append(raw)
            size += len(raw)
            gas += tx.body.gas_limit
        return ResponsePrepareProposal(tuple(chosen))

    def process_proposal(self, req: RequestProcessProposal) -> ResponseProcessProposal:
        """Accept a proposal only if its beacon entry is valid (where one is due), every tx
        decodes and the block fits the limits."""
        params = self._params()
        try:
            beacon_entry.check_entry(
                self._state(), self.chain_id, req.height, req.txs, req.proposed_last_commit
            )
        except ChainError:
            return ResponseProcessProposal(ProposalStatus.REJECT)
        has_entry = bool(req.txs) and beacon_entry.is_entry(req.txs[0])
        txs = req.txs[1:] if has_entry else req.txs
        size = len(req.txs[0]) if has_entry else 0  # the entry counts against the block's bytes
        gas = 0
        for raw in txs:
            try:
                tx, _ = self._decode(raw, params.max_tx_bytes)
            except ChainError:
                return ResponseProcessProposal(ProposalStatus.REJECT)
            size += len(raw)
            gas += tx.body.gas_limit
        if size > params.max_block_bytes or gas > params.max_block_gas:
            return ResponseProcessProposal(ProposalStatus.REJECT)
        return ResponseProcessProposal(ProposalStatus.ACCEPT)

    def finalize_block(self, req: RequestFinalizeBlock) -> ResponseFinalizeBlock:
        # Verify blocks come in order
        expected = self.last_height + 1
        if req.height != expected:
            raise RuntimeError(f"finalize_block for height {req.height}, expected {expected}")
        parent: KVReader = self._genesis if self._genesis is not None else self.committed
        block_branch = Branch(parent)
        block = BlockInfo(
            self.chain_id,
            req.height,
            req.time_unix,
            req.proposer_address,
            req.decided_last_commit,
            req.misbehavior,
        )
        schedule = read_params(block_branch).gas
        hooks = Context(block, block_branch, InfiniteGasMeter(), schedule)
        txs = req.txs
        first: tuple[ExecTxResult, ...] = ()
        if self._scheduled_upgrade is not None:
            self._run_scheduled_upgrade(hooks)
        if txs and beacon_entry.is_entry(txs[0]):
            first, txs = (self._fold_beacon(hooks, txs[0]),), txs[1:]
        for module in self.modules:
            module.begin_block(hooks)
        results = first + tuple(self._deliver_tx(block_branch, raw, block) for raw in txs)
        updates: list[ValidatorUpdate] = []
        for module in self.modules:
            updates.extend(module.end_block(hooks))
        beacon.record_keys(hooks, updates)
        changes = dict(block_branch.writes)
        if self._genesis is not None:
            changes = {**self._genesis.writes, **changes}
        app_hash = self.store.stage(req.height, changes)
        self._block = block_branch
        self._pending = _PendingBlock(req.height, req.time_unix, app_hash, changes, req.txs)
        return ResponseFinalizeBlock(
            events=tuple(hooks.events),
            tx_results=results,
            validator_updates=tuple(updates),
            app_hash=app_hash,
        )

    def schedule_upgrade(self, name: str, migration: Migration) -> None:
        """Run `migration` first in the next block, recorded as upgrade `name` like a planned one.

        Only for a chain whose one validator is this node (solo mode): a network agrees on an
        upgrade through a governance plan instead, or its nodes' state roots would part."""
        self._scheduled_upgrade = (name, migration)

    def _run_scheduled_upgrade(self, hooks: Context) -> None:
        assert self._scheduled_upgrade is not None
        name, migration = self._scheduled_upgrade
        self._scheduled_upgrade = None  # once: a block that fails stops the node anyway
        migration(hooks)
        gov_state.mark_done(hooks, name, hooks.block.height)
        hooks.emit("upgrade_applied", name=name, height=str(hooks.block.height))

    def _fold_beacon(self, hooks: Context, raw: bytes) -> ExecTxResult:
        """Move the seed with a block's entry, before any begin-block hook reads it. The entry's
        proofs were checked when the block was proposed (ProcessProposal), so a node replaying
        committed blocks only decodes it."""
        try:
            outputs = beacon_entry.entry_outputs(raw)
        except ChainError as exc:  # not in a block 2/3 accepted; a result, never a halt
            return ExecTxResult(code=exc.code, log=exc.message, codespace=CODESPACE)
        seed = beacon.fold(hooks, outputs)
        hooks.emit("beacon", seed=seed.hex(), validators=str(len(outputs)))
        return ExecTxResult(code=0, log="beacon entry")

    # --- Vote extensions ------------------------------------------------------------------------

    def extend_vote(self, req: RequestExtendVote) -> ResponseExtendVote:
        """This validator's VRF proof for the votes of `req.height` (empty where extensions are
        off, or on a node without a consensus key)."""
        if self.beacon_prover is None or not beacon.extensions_on(self._state(), req.height):
            return ResponseExtendVote(b"")
        return ResponseExtendVote(self.beacon_prover(beacon.vrf_input(self.chain_id, req.height)))

    def verify_vote_extension(self, req: RequestVerifyVoteExtension) -> ResponseVerifyVoteExtension:
        """Accept an extension only if it is the sender's valid VRF proof for this height: an
        honest validator's always is, so refusing the others costs no liveness."""
        state = self._state()
        if not beacon.extensions_on(state, req.height):
            ok = not req.vote_extension
        else:
            ok = (
                beacon_entry.proof_output(
                    state, self.chain_id, req.height, req.validator_address, req.vote_extension
                )
                is not None
            )
        return ResponseVerifyVoteExtension(VerifyStatus.ACCEPT if ok else VerifyStatus.REJECT)

    def stage_aux(self, rows: Sequence[tuple[str, bytes, bytes | None]]) -> None:
        """Rows (db, key, value) the block producer wants written atomically with the next
        commit."""
        self._aux.extend(rows)

    def commit(self) -> ResponseCommit:
        pending = self._pending
        # Verify a block was finalized
        if pending is None:
            raise RuntimeError("commit without finalize_block")
        aux = [*self._aux, (META_DB, LAST_BLOCK_TIME_KEY, encode_uint(pending.time_unix))]
        try:
            self.store.commit_staged(aux)
        except BaseException:
            self.committed.clear()  # whatever happened to the store, never serve a stale read
            raise
        self.committed.apply(pending.changes)
        self._last_block_time = pending.time_unix
        self._max_tx_bytes = read_params(self.committed).max_tx_bytes
        self._pending = None
        self._block = None
        self._genesis = None
        self._aux = []
        self._rebase_check({tx_hash(raw) for raw in pending.txs})
        for kept in self._mempool.values():
            kept.seen = False
        self._unconfirmed = len(self._mempool)
        self._rechecking = True
        return ResponseCommit(retain_height=self.retain_height(pending.height))

    # --- pruning and snapshots (the node's: voxpop.node.snapshots) ------------------------------

    # How many recent blocks CometBFT keeps (0: all). Set by the node from its config: what a
    # node keeps is its own choice, never consensus.
    retain_blocks = 0

    def retain_height(self, height: int) -> int:
        """The lowest block CometBFT must keep once `height` is committed (Commit's
        retain_height): the last `retain_blocks` blocks, or 0 to keep every block."""
        if self.retain_blocks <= 0:
            return 0
        return max(0, height - self.retain_blocks + 1)

    def iterate_state(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) of the committed state, ascending: what a snapshot holds. The
        iterator reads one store transaction, opened by its first step."""
        return self.store.iterate(b"")

    def restore_snapshot(
        self,
        height: int,
        state: dict[bytes, bytes],
        block_time: int,
        aux: Sequence[tuple[str, bytes, bytes]],
        app_hash: bytes,
    ) -> bytes:
        """Make `state` the committed state of `height` (with the `aux` rows and the block time)
        if its root is `app_hash`; return its root either way, writing nothing on a mismatch.

        Raises VersionError unless the store is empty (below `height`), StoreError for an
        invalid key, value or aux row.
        """
        root = self.store.stage(height, state)
        # Verify the records give the verified app hash before anything is written
        if root != app_hash:
            return root
        self.store.commit_staged([*aux, (META_DB, LAST_BLOCK_TIME_KEY, encode_uint(block_time))])
        self.committed.clear()
        self._check = Branch(self.committed)
        self._last_block_time = block_time
        self._max_tx_bytes = read_params(self.committed).max_tx_bytes
        return root

    # --- Query ----------------------------------------------------------------------------------

    def query(self, req: RequestQuery) -> ResponseQuery:
        """Every query reads one state key, so any answer can come with a Merkle proof.

        Paths: `/store` (data = raw key) or `/<module>/<name>` (e.g. `/bank/balance`, data =
        address).
        """
        height = req.height or self.last_height
        computed = computed_query(self.modules, req.path)
        if computed is not None:
            return self._query_computed(computed, req, height)
        try:
            key = query_key(self.modules, req.path, req.data)
            # Verify the height is committed and retained
            if height > self.last_height or height < 1:
                raise HeightNotAvailableError(f"height {height} is not committed")
            listed = list_route(self.modules, req.path)
            value: bytes | None
            if listed is not None:
                value, proof_bytes = self._query_list(listed, req.data, height, req.prove)
            elif req.prove:
                value, proof = self.store.get_with_proof(key, height)
                proof_bytes = proof.encode()
            else:
                value, proof_bytes = self.store.get(key, height), b""
        except VersionError:
            err = HeightNotAvailableError(f"height {height} is pruned")
            return ResponseQuery(code=err.code, log=err.message, codespace=CODESPACE, height=height)
        except ChainError as exc:
            return ResponseQuery(code=exc.code, log=exc.message, codespace=CODESPACE, height=height)
        return ResponseQuery(code=0, key=key, value=value or b"", proof=proof_bytes, height=height)

    def _query_computed(
        self, computed: ComputedQuery, req: RequestQuery, height: int
    ) -> ResponseQuery:
        """A computed answer (a contract's smart query): of the latest state, never proven."""
        try:
            # Verify it is asked of the latest committed state, without a proof
            if req.prove or height != self.last_height or height < 1:
                raise InvalidQueryError(
                    "a computed query is answered at the latest height, unproven"
                )
            block = BlockInfo(self.chain_id, height, self.last_block_time)
            value = computed(self.committed, block, req.data)
        except ChainError as exc:
            return ResponseQuery(code=exc.code, log=exc.message, codespace=CODESPACE, height=height)
        return ResponseQuery(code=0, value=value, height=height)

    def _query_list(
        self, listed: ListRoute, data: bytes, height: int, prove: bool
    ) -> tuple[bytes, bytes]:
        """A list's answer: CBOR {"commitment": raw or null, "items": [[id, key, value, proof]]},
        and the commitment's proof. Only the latest height can be listed (the index is read from
        the latest state; each value and proof is then taken at that height)."""
        # Verify the list is asked for at the latest height
        if height != self.last_height:
            raise HeightNotAvailableError("lists are answered at the latest height only")
        owner = listed.owner(data)
        ckey = listed.index.commitment_key(owner)
        items = []
        for item in listed.index.ids(self.committed, owner):
            key = listed.item_state_key(owner, item)
            if prove:
                value, proof = self.store.get_with_proof(key, height)
                items.append([item, key, value, proof.encode()])
            else:
                items.append([item, key, self.store.get(key, height), b""])
        if prove:
            commitment, cproof = self.store.get_with_proof(ckey, height)
            proof_bytes = cproof.encode()
        else:
            commitment, proof_bytes = self.store.get(ckey, height), b""
        return encode({"commitment": commitment, "items": items}), proof_bytes

    # --- the tx pipeline ------------------------------------------------------------------------

    def _state(self) -> KVReader:
        """The latest state a block builds on: committed, or genesis before the first block."""
        return self.committed if self._genesis is None else self._genesis

    def _params(self) -> AuthParams:
        return read_params(self._state())

    def _decode_msgs(self, tx: Tx) -> list[tuple[Msg, MsgRoute]]:
        """Parse each message. Raises ChainError only: any input gives a failed tx with a code."""
        return [parse_msg(self.routes, raw, f"msgs[{i}]") for i, raw in enumerate(tx.body.msgs)]

    def _decode(self, raw: bytes, max_bytes: int) -> tuple[Tx, bool]:
        """The decoded tx and whether its signature is known to verify."""
        # Verify the size against the chain's limit (the cache may hold txs decoded before it)
        if len(raw) > max_bytes:
            raise TxTooLargeError(f"tx is {len(raw)} bytes; the limit is {max_bytes}")
        hit = self.tx_cache.get(tx_hash(raw))
        if hit is not None:
            return hit
        try:
            return decode_tx(raw, max_bytes), False
        except ChainError:
            raise
        except Exception as exc:  # a decoder bug must not halt the chain: the tx is undecodable
            raise TxDecodeError(f"malformed tx ({type(exc).__name__})") from None

    def _run_tx(
        self,
        parent: Branch,
        tx: Tx,
        verified: bool,
        block: BlockInfo,
        *,
        is_check: bool,
        msgs: list[tuple[Msg, MsgRoute]] | None = None,
    ) -> ExecTxResult:
        """Authenticate, charge, run messages (`msgs`: the tx's, if the caller parsed them). In
        check mode any failure raises; in a block, a message failure keeps the fee and sequence
        (written to `parent`) and drops the messages."""
        params = read_params(parent)
        if msgs is None:
            msgs = self._decode_msgs(tx)
        signer = address_from_pubkey(tx.body.pub_key)
        # Verify every message is authorized by the tx's signer
        for msg, _ in msgs:
            if msg.signers() != (signer,):
                raise UnauthorizedError(f"{msg.TYPE} must be signed by its own account")
        fee_exempt = len(msgs) == 1 and isinstance(msgs[0][0], MsgClaimGrant)
        gas = GasMeter(tx.body.gas_limit)
        ante = Context(block, Branch(parent), gas, params.gas, is_check=is_check)
        process_ante(ante, tx, params, signature_verified=verified, fee_exempt=fee_exempt)
        if not verified:
            self.tx_cache.put(tx)
        # No "hash" attribute: CometBFT indexes the tx hash itself and reserves `tx.hash`
        payer = {"fee_payer": addr_text(tx.body.fee_granter)} if tx.body.fee_granter else {}
        ante.emit(
            "tx",
            signer=addr_text(signer),
            fee=str(tx.body.fee),
            sequence=str(tx.body.sequence),
            **payer,
        )
        run = ante.branch()
        try:
            for msg, route in msgs:
                route.handler(run, msg)
        except ChainError as exc:
            if is_check:
                raise
            ante.store.write()
            return ExecTxResult(
                code=exc.code,
                log=exc.message,
                codespace=CODESPACE,
                gas_wanted=tx.body.gas_limit,
                gas_used=gas.consumed,
                events=tuple(ante.events),
            )
        ante.write(run)
        ante.store.write()
        return ExecTxResult(
            code=0, gas_wanted=tx.body.gas_limit, gas_used=gas.consumed, events=tuple(ante.events)
        )

    def _deliver_tx(self, block_branch: Branch, raw: bytes, block: BlockInfo) -> ExecTxResult:
        """Apply one tx of a block. A tx that fails before its fee is charged changes nothing."""
        try:
            tx, verified = self._decode(raw, read_params(block_branch).max_tx_bytes)
            return self._run_tx(block_branch, tx, verified, block, is_check=False)
        except ChainError as exc:
            return ExecTxResult(code=exc.code, log=exc.message, codespace=CODESPACE)


def check_invariants(app: VoxApp, reader: KVReader | None = None) -> list[str]:
    """Run every module's invariants over committed state (or `reader`); return the breaches."""
    view = reader if reader is not None else app.committed
    breaches = []
    for module in app.modules:
        for invariant in module.invariants():
            problem = invariant.check(view)
            if problem is not None:
                breaches.append(f"{invariant.name}: {problem}")
    return breaches


def event_attrs(event: Event) -> dict[str, str]:
    return {a.key: a.value for a in event.attributes}


__all__ = ["EventAttribute", "VoxApp", "check_invariants", "default_modules", "query_key"]
