"""The owner's data vault: put, get, ls, rm, status and repair of encrypted, erasure-coded objects
held by storage providers (issue 13; docs/protocol/storage.md).

    put   read -> encrypt (fresh data key, XChaCha20 secretstream) and erasure-code (k of n), at
          once stripe by stripe -> Merkle roots -> choose n providers (proven list) ->
          storage/OpenDeal -> shards and the object header to the nodes in parallel -> wait for
          their Confirms
    get   proven deal -> header (checked against the deal's header_hash) -> data key from the
          capsule (the owner's Umbral key) -> k shards (the data shards first; a straggler gets a
          hedge), each hashed into its root as it arrives and checked against it -> decrypt
          (authenticated chunk by chunk) as the data shards arrive, used once all verify (else
          decode from the k verified shards, then decrypt)
    repair  when an object's live shards fall below k + margin: fetch k shards, rebuild the lost
          ones byte-exactly, storage/Replace each onto a new provider, upload, wait for Confirms

Only the opaque object id, sizes, roots, k, n and the deal terms reach the chain; the object
header (capsule, wrapped data key) goes only to the deal's storage nodes; names and sizes stay in
the owner's sealed local index (client/storage/index.py).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxpop.client.errors import NotFoundError
from voxpop.client.storage import progress as phases
from voxpop.client.storage.chainview import (
    DealView,
    StorageParams,
    fetch_deal,
    fetch_deal_ids,
    fetch_params,
    fetch_providers,
)
from voxpop.client.storage.download import DEFAULT_HEDGE, Abandoned, Arrivals, fetch_shards
from voxpop.client.storage.errors import (
    DataError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    check_committed,
)
from voxpop.client.storage.index import IndexEntry, NameIndex
from voxpop.client.storage.progress import Progress, quiet
from voxpop.client.storage.repair import (
    RepairResult,
    repair_objects,
)
from voxpop.client.storage.selection import ProviderView, choose_providers
from voxpop.client.storage.stripes import decode_decrypt, decrypt_arriving, encrypt_encode_roots
from voxpop.client.storage.transport import ShardBytes, StorageNodes, shard_length
from voxpop.client.sync import VoxClient
from voxpop.crypto import erasure, vault
from voxpop.crypto.address import encode_address
from voxpop.crypto.encryption_keys import EncryptionKeys, derive_encryption_keys
from voxpop.crypto.keys import PrivateKey

DEFAULT_K = 4
DEFAULT_N = 6
DEFAULT_EPOCHS = 100
DEAL_GAS = 600_000
CLOSE_GAS = 300_000
CONFIRM_TIMEOUT = 60.0
POLL_INTERVAL = 0.25
OBJECT_ID_SIZE = 32
# Objects of more than one stripe decode and decrypt at once (stripes.py); for one stripe
# there is nothing to overlap
PIPELINE_ABOVE = erasure.STRIPE


@dataclass(frozen=True, slots=True)
class PutPolicy:
    """The owner's choices for one object."""

    k: int = DEFAULT_K
    n: int = DEFAULT_N
    epochs: int = DEFAULT_EPOCHS
    max_price: int | None = None  # uvox per GiB-epoch; None: whatever the chosen ones ask
    wait_confirm: bool = True
    confirm_timeout: float = CONFIRM_TIMEOUT


@dataclass
class PutResult:
    object_id: bytes
    size: int  # plaintext bytes
    ciphertext_size: int
    shard_size: int
    k: int
    n: int
    providers: list[bytes]
    tx_hash: str
    height: int
    failed: dict[int, str] = field(default_factory=dict)  # shard index -> why its upload failed
    confirmed: bool = False
    # seconds per step: keys (the directory read), encrypt_encode (and the roots), choose (the
    # proven provider list), commit (the deal tx, a block), upload (every shard and header
    # stored on its node), confirm (the nodes' Confirm txs in blocks)
    timings: dict[str, float] = field(default_factory=dict)


class DataVault:
    """The owner's vault over one node (`vox`) and the storage nodes the chain lists.

    `home` holds the sealed name index. Use as a context manager (closes the node connections).
    """

    def __init__(self, vox: VoxClient, account: PrivateKey, home: Path) -> None:
        self.vox = vox
        self.account = account
        self.owner = account.public_key.address
        self.index = NameIndex(home, account)
        self.nodes = StorageNodes(account)
        self._params: StorageParams | None = None
        self.hedge = DEFAULT_HEDGE  # downloads beyond k in flight (see download.py)

    def close(self) -> None:
        self.nodes.close()

    def __enter__(self) -> DataVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- chain reads ----------------------------------------------------------------------------

    def params(self) -> StorageParams:
        if self._params is None:
            self._params = fetch_params(self.vox)
        return self._params

    def providers(self) -> list[ProviderView]:
        return fetch_providers(self.vox)

    def endpoints(self) -> dict[bytes, str]:
        return {p.address: p.endpoint for p in self.providers()}

    def deal(self, object_id: bytes, endpoints: dict[bytes, str] | None = None) -> DealView:
        """This owner's deal, proven; placements whose provider left show `gone` (`endpoints`:
        the registered providers, read if not given). Raises ObjectNotFoundError."""
        registered = self.endpoints() if endpoints is None else endpoints
        deal = fetch_deal(self.vox, object_id, registered)
        # Verify there is a deal, and that it is this owner's (another's would not decrypt)
        if deal is None:
            raise ObjectNotFoundError(f"no deal for object {object_id.hex()} on chain")
        if deal.owner != self.owner:
            raise ObjectNotFoundError(f"object {object_id.hex()} belongs to another account")
        return deal

    def object_ids(self) -> list[bytes]:
        """The ids of this owner's open deals (proven complete)."""
        try:
            return fetch_deal_ids(self.vox, self.owner)
        except NotFoundError:
            return []

    # --- keys -----------------------------------------------------------------------------------

    def encryption_keys(self, generation: int | None = None) -> EncryptionKeys:
        """The owner's keys of `generation`, or of the version the directory publishes (proven;
        1, the first a publish would use, when none is)."""
        if generation is None:
            published = self.vox.directory_keys(self.owner, prove=True).record
            generation = published.version if published and not published.revoked else 1
            keys = derive_encryption_keys(self.account.seed, generation)
            # Verify the published key is the one this account derives (else a data key sealed
            # to it could not be opened by the owner)
            if published and published.secp256k1 not in (None, keys.secp256k1_public):
                raise DataError("the directory's secp256k1 key is not this account's")
            return keys
        return derive_encryption_keys(self.account.seed, generation)

    # --- put ------------------------------------------------------------------------------------

    def put(
        self,
        data: bytes,
        name: str,
        policy: PutPolicy = PutPolicy(),
        progress: Progress = quiet,
    ) -> PutResult:
        """Store `data` as a new object; record `name` in the local index.

        Raises NotEnoughProvidersError, ObjectTooLargeError, DataError, VoxClientError.
        """
        params = self.params()
        # Verify the erasure code's shape before any work
        if not 1 <= policy.k < policy.n <= params.max_n:
            raise DataError(f"need 1 <= k < n <= {params.max_n}, got k={policy.k} n={policy.n}")
        clock = Stopwatch()
        keys = self.encryption_keys()
        clock.lap("keys")
        progress(phases.ENCRYPT, 0, len(data))
        data_key = vault.new_data_key()
        # Encrypted, erasure-coded and hashed into the roots at once, stripe by stripe
        ciphertext_size, shards, roots = encrypt_encode_roots(
            data_key, data, policy.k, policy.n, params.leaf_size
        )
        header = vault.seal_header(
            keys.secp256k1_public, data_key, k=policy.k, n=policy.n, size=ciphertext_size
        )
        clock.lap("encrypt_encode")
        shard_size = sum(len(f) for f in shards[0])
        # Verify the shards fit one placement each
        if shard_size > params.max_shard_size:
            raise ObjectTooLargeError(
                f"shards of {shard_size} bytes; the chain takes at most {params.max_shard_size}"
            )
        progress(phases.ENCRYPT, len(data), len(data))
        chosen = choose_providers(
            self.providers(), policy.n, shard_size, max_price=policy.max_price
        )
        clock.lap("choose")
        object_id = os.urandom(OBJECT_ID_SIZE)
        progress(phases.COMMIT, 0, 1)
        msg = (
            "storage/OpenDeal",
            {
                "owner": self.owner,
                "object_id": object_id,
                "header_hash": hashlib.sha256(header).digest(),
                "size": ciphertext_size,
                "shard_size": shard_size,
                "k": policy.k,
                "n": policy.n,
                "leaf_size": params.leaf_size,
                "roots": roots,
                "providers": [p.address for p in chosen],
                "epochs": policy.epochs,
                "max_price": policy.max_price
                if policy.max_price is not None
                else max(p.price for p in chosen),
            },
        )
        result = self.vox.execute(self.account, [msg], gas_limit=DEAL_GAS, mode="commit")
        check_committed(result, "storage/OpenDeal")
        progress(phases.COMMIT, 1, 1)
        # The object is on chain: record its name now, so a failed upload can still be repaired
        self.index.add(
            IndexEntry(
                object_id=object_id.hex(),
                name=name,
                size=len(data),
                created_at=int(time.time()),
                k=policy.k,
                n=policy.n,
                epochs=policy.epochs,
                key_generation=keys.generation,
            )
        )
        clock.lap("commit")
        failed = self.upload(
            object_id, header, {i: shards[i] for i in range(policy.n)}, roots, chosen, progress
        )
        clock.lap("upload")
        out = PutResult(
            object_id=object_id,
            size=len(data),
            ciphertext_size=ciphertext_size,
            shard_size=shard_size,
            k=policy.k,
            n=policy.n,
            providers=[p.address for p in chosen],
            tx_hash=result.tx_hash.hex(),
            height=result.height,
            failed=failed,
            timings=clock.laps,
        )
        if policy.wait_confirm and not failed:
            out.confirmed = self.wait_confirmed(
                object_id, range(policy.n), policy.confirm_timeout, progress
            )
            clock.lap("confirm")
        return out

    def upload(
        self,
        object_id: bytes,
        header: bytes,
        shards: Mapping[int, ShardBytes],
        roots: Sequence[bytes],
        providers: Sequence[ProviderView],
        progress: Progress = quiet,
    ) -> dict[int, str]:
        """Each shard (with the header) to its provider, all at once; `roots`: every shard's
        Merkle root by index, as the deal records them. Returns the failures by shard index
        (empty: every node stored its shard)."""
        sizes = {i: shard_length(s) for i, s in shards.items()}
        total = sum(sizes.values())
        done = [0]
        failed: dict[int, str] = {}
        progress(phases.UPLOAD, 0, total)

        def one(index: int, provider: ProviderView, what: str) -> None:
            if what == "header":
                self.nodes.put_header(provider.endpoint, object_id, header)
            else:
                self.nodes.put_shard(
                    provider.endpoint, object_id, index, shards[index], roots[index]
                )

        # The header and the shard go to a node at once: each request waits on the node's proven
        # read of the deal, and they need not wait on each other
        pairs = list(zip(sorted(shards), providers, strict=True))
        with ThreadPoolExecutor(max_workers=max(1, 2 * len(pairs))) as pool:
            futures = {
                pool.submit(one, i, p, what): (i, what)
                for i, p in pairs
                for what in ("shard", "header")
            }
            for fut in as_completed(futures):
                i, what = futures[fut]
                try:
                    fut.result()
                except DataError as exc:
                    failed[i] = f"{what}: {exc.message}"
                    continue
                if what == "shard":
                    done[0] += sizes[i]
                progress(phases.UPLOAD, done[0], total)
        return failed

    def wait_confirmed(
        self,
        object_id: bytes,
        indices: Sequence[int] | range,
        timeout: float,
        progress: Progress = quiet,
    ) -> bool:
        """Poll the deal until the placements at `indices` are confirmed (no longer pending)."""
        wanted = set(indices)
        deadline = time.monotonic() + timeout
        while True:
            deal = fetch_deal(self.vox, object_id)
            if deal is None:
                return False
            pending = {p.index for p in deal.placements if p.status == "pending"} & wanted
            progress(phases.CONFIRM, len(wanted) - len(pending), len(wanted))
            if not pending:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    # --- get ------------------------------------------------------------------------------------

    def get(
        self,
        object_id: bytes,
        progress: Progress = quiet,
        timings: dict[str, float] | None = None,
    ) -> bytes:
        """The object's plaintext, byte-exact (`timings`, if given, gets each step's seconds).

        Raises ObjectNotFoundError, ShardFetchError, DataError (a header or data key that does
        not open, a digest that does not match)."""
        clock = Stopwatch(timings)
        endpoints = self.endpoints()
        deal = self.deal(object_id, endpoints)
        entry = self.index.get(object_id.hex())
        clock.lap("chain")
        header_blob = self.fetch_header(deal, endpoints)
        try:
            header = vault.open_header(header_blob)
        except vault.VaultError as exc:
            raise DataError(f"object {object_id.hex()}'s header: {exc}") from None
        data_key = self.unwrap(header, entry)
        clock.lap("header")
        done = [0]
        total = deal.k * deal.shard_size
        progress(phases.DOWNLOAD, 0, total)

        def on_bytes(n: int) -> None:
            done[0] += n
            progress(phases.DOWNLOAD, min(done[0], total), total)

        # The data shards are decrypted as they arrive (stripes.decrypt_arriving); what that
        # makes is used only if the shards read are those, every one verified against its root
        arrivals = Arrivals(range(deal.k))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxpop-decrypt") as reader:
            early = reader.submit(
                decrypt_arriving, arrivals, deal.k, deal.n, deal.shard_size, deal.size, data_key
            )
            try:
                fetched = fetch_shards(
                    self.nodes,
                    deal,
                    endpoints,
                    hedge=self.hedge,
                    on_bytes=on_bytes,
                    arrivals=arrivals,
                )
            finally:
                arrivals.close()
            clock.lap("download")
            progress(phases.DECODE, 0, 1)
            try:
                plaintext = None
                if sorted(fetched.buffers) == list(range(deal.k)):
                    plaintext = _unless_abandoned(early)
                if plaintext is None:
                    plaintext = self._decode_decrypt(deal, fetched.as_bytes(), data_key)
                clock.lap("decode_decrypt")
            except (erasure.ErasureError, vault.VaultError) as exc:
                raise DataError(f"object {object_id.hex()} does not decode: {exc}") from None
        # Verify the size the index recorded (the bytes themselves are authenticated: every
        # chunk by the AEAD, the end by the FINAL tag, the data key by the header the deal
        # commits to, so a digest of the plaintext would add nothing)
        if entry is not None and len(plaintext) != entry.size:
            raise DataError(f"object {object_id.hex()} decrypted to {len(plaintext)} bytes")
        progress(phases.DECODE, 1, 1)
        return plaintext

    def _decode_decrypt(self, deal: DealView, shards: dict[int, bytes], key: bytes) -> bytes:
        """The plaintext from k verified shards, parity ones among them. Raises ErasureError,
        VaultError."""
        if deal.size > PIPELINE_ABOVE:
            return decode_decrypt(shards, deal.k, deal.n, deal.size, key)
        ciphertext = erasure.decode(shards, deal.k, deal.n)[: deal.size]
        return vault.decrypt_object(key, ciphertext)

    def fetch_header(self, deal: DealView, endpoints: dict[bytes, str]) -> bytes:
        """The object header from the first node whose copy matches the deal's header_hash."""
        problems = []
        for p in deal.placements:
            endpoint = endpoints.get(p.provider)
            if endpoint is None or p.status == "gone":
                continue
            try:
                blob = self.nodes.get_header(endpoint, deal.object_id)
            except DataError as exc:
                problems.append(f"{endpoint}: {exc.message}")
                continue
            # Verify the header is the one the deal commits to
            if hashlib.sha256(blob).digest() == deal.header_hash:
                return blob
            problems.append(f"{endpoint}: a header that does not match the deal")
        raise DataError(f"no node returned object {deal.object_id.hex()}'s header: {problems}")

    def unwrap(self, header: Any, entry: IndexEntry | None) -> bytes:
        """The data key from the header's capsule, with the key generation the index recorded
        (or each generation up to the published one, for an object put from another home)."""
        if entry is not None:
            generations = [entry.key_generation]
        else:
            current = self.encryption_keys().generation
            generations = list(range(current, 0, -1))
        for generation in generations:
            secret = self.encryption_keys(generation).umbral_secret_key()
            try:
                key: bytes = vault.unwrap_data_key(header, secret)
                return key
            except vault.VaultError:
                continue
        raise DataError("the object's data key does not open with this account's keys")

    # --- rm, ls, status -------------------------------------------------------------------------

    def rm(self, object_id: bytes) -> str:
        """Close the deal (unearned escrow returns) and forget the name. Returns the tx hash."""
        self.deal(object_id)
        msg = ("storage/CloseDeal", {"owner": self.owner, "object_id": object_id})
        result = self.vox.execute(self.account, [msg], gas_limit=CLOSE_GAS, mode="commit")
        check_committed(result, "storage/CloseDeal")
        self.index.remove(object_id.hex())
        return result.tx_hash.hex()

    def ls(self) -> list[dict[str, Any]]:
        """The owner's objects: every open deal on chain, named from the local index (objects
        the index knows but the chain no longer holds are listed as `missing`)."""
        entries = {e.object_id: e for e in self.index.entries()}
        rows = []
        for oid in self.object_ids():
            e = entries.pop(oid.hex(), None)
            rows.append({"id": oid.hex(), **_entry_fields(e), "on_chain": True})
        for e in entries.values():
            rows.append({"id": e.object_id, **_entry_fields(e), "on_chain": False})
        return rows

    def status(self, object_id: bytes, probe: bool = True) -> dict[str, Any]:
        """The deal as the chain holds it, the local name, and (with `probe`) whether each
        node answers."""
        endpoints = self.endpoints()
        deal = self.deal(object_id, endpoints)
        entry = self.index.get(object_id.hex())
        placements = []
        for p in deal.placements:
            endpoint = endpoints.get(p.provider, "")
            row: dict[str, Any] = {
                "index": p.index,
                "provider": _addr(p.provider),
                "root": p.root.hex(),
                "status": p.status,
                "endpoint": endpoint,
            }
            if probe:
                row["reachable"] = bool(endpoint) and self.nodes.status(endpoint) is not None
            placements.append(row)
        return {
            "id": object_id.hex(),
            **_entry_fields(entry),
            "ciphertext_size": deal.size,
            "shard_size": deal.shard_size,
            "k": deal.k,
            "n": deal.n,
            "epochs": deal.epochs,
            "live": len(deal.live()),
            "placements": placements,
            "height": deal.height,
        }

    # --- repair ---------------------------------------------------------------------------

    # vault.repair(object_id=None, *, margin, force, progress, log): see repair.py
    repair = repair_objects


class Stopwatch:
    """Seconds per named step, each lap from the end of the one before."""

    def __init__(self, laps: dict[str, float] | None = None) -> None:
        self.laps = laps if laps is not None else {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


def _unless_abandoned(early: Future[bytes]) -> bytes | None:
    """The early reader's plaintext; None if it gave up (a data shard it waited on failed)."""
    try:
        return early.result()
    except Abandoned:
        return None


def _addr(raw: bytes) -> str:
    return encode_address(raw)


def _entry_fields(e: IndexEntry | None) -> dict[str, Any]:
    if e is None:
        return {"name": None, "size": None, "created_at": None}
    return {"name": e.name, "size": e.size, "created_at": e.created_at}


def parse_object_id(text: str) -> bytes:
    """64 hex digits. Raises ValueError."""
    raw = bytes.fromhex(text)
    if len(raw) != OBJECT_ID_SIZE:
        raise ValueError("an object id is 64 hex digits")
    return raw


__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_K",
    "DEFAULT_N",
    "DataVault",
    "PutPolicy",
    "PutResult",
    "RepairResult",
    "parse_object_id",
]
