"""The buyer's side: collect the objects a grant covers, decrypted, checked, with a manifest.

Per object:
    one signed access request (it names no node) -> m of the grant's nodes at once (each answer
    is paid; a node that fails is replaced by the next, nodes that failed before are asked last);
    m answers that verify (attestation signed by a node of the grant, for this grant, object and
    request; the cfrag its attestation hashes; the kit the grant's capsule hash names) are kept
    -> combine the m capsule fragments, open the kit: the data key (nucypher-core Umbral)
    -> the object's k shards from the storage nodes, each checked against its on-chain root,
       fetched as the grantee (the nodes serve a grantee holding a live grant for the object)
    -> decode, decrypt (authenticated), and check sha256(salt || plaintext) against the grant's
       content hash: the salt came sealed to the buyer, so a mismatch is evidence of a seller
       that granted something other than what it committed to (market/Dispute)
Files go to `<out>/<object id>.bin`; `<out>/manifest.json` lists each with its grant, size,
content hash, and the nodes that answered.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

from nucypher_core.umbral import SecretKey as UmbralSecretKey

from voxpop.chain.modules.consent.state import Grant
from voxpop.client.consent.errors import ConsentClientError, FetchError
from voxpop.client.consent.nodes import NodeAnswer
from voxpop.client.payments.offers import fetch_candidates
from voxpop.client.storage.chainview import fetch_deal, fetch_providers
from voxpop.client.storage.download import fetch_shards
from voxpop.client.storage.errors import DataError
from voxpop.client.storage.transport import StorageNodes, shard_path
from voxpop.client.sync import VoxClient
from voxpop.crypto import erasure, vault
from voxpop.crypto.address import encode_address
from voxpop.crypto.consent import (
    ConsentCryptoError,
    capsule_hash,
    combine_and_open,
    content_hash,
    new_nonce,
    open_answer,
    request_id,
    sign_access_request,
)
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import SealedBoxError, open_for_account

REENCRYPT_KIND = "reencrypt"
MANIFEST = "manifest.json"

# (node address, node endpoint, signed request) -> the node's answer
Ask = Callable[[bytes, str, bytes], NodeAnswer]


class GranteeStorage(StorageNodes):
    """Shard reads as a grantee: the signed path names the grant (`?grant=<id hex>`), which the
    storage node checks on chain (live, the owner's, to the signer, covering the object)."""

    def __init__(self, account: PrivateKey) -> None:
        super().__init__(account)
        self.grant_id = b""

    def get_shard(
        self,
        endpoint: str,
        object_id: bytes,
        index: int,
        max_bytes: int,
        cancel: threading.Event | None = None,
    ) -> bytes:
        path = f"{shard_path(object_id, index)}?grant={self.grant_id.hex()}"
        return self._get(endpoint, path, max_bytes, cancel)


@dataclass(frozen=True, slots=True)
class FetchedObject:
    object_id: str
    grant_id: str
    file: str
    size: int
    content_hash: str
    nodes: list[str]  # the nodes whose fragments opened it
    request_id: str


@dataclass(frozen=True, slots=True)
class Opened:
    data_key: bytes
    salt: bytes
    nodes: list[bytes]
    request_id: bytes


class Buyer:
    """A grantee collecting granted objects. `ask` sends one access request to one node (the
    paid gateway call, or PrivacyNodes.reencrypt)."""

    def __init__(self, vox: VoxClient, account: PrivateKey, ask: Ask) -> None:
        self.vox = vox
        self.account = account
        self.address = account.public_key.address
        self.ask = ask
        self.storage = GranteeStorage(account)
        # Read once per session (each is a proven read or list): the privacy nodes' and the
        # storage nodes' endpoints, the buyer's Umbral key
        self._nodes: dict[bytes, str] | None = None
        self._providers: dict[bytes, str] | None = None
        self._umbral: UmbralSecretKey | None = None
        self._down: set[bytes] = set()  # nodes that failed to answer in this session
        self.hedge = 0  # nodes asked beyond m at once (each answer is paid)
        self.timings: dict[str, list[float]] = {"keys": [], "shards": [], "decode": []}

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Buyer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def umbral_secret(self) -> UmbralSecretKey:
        if self._umbral is None:
            published = self.vox.directory_keys(self.address, prove=True).record
            generation = published.version if published is not None else 1
            keys = derive_encryption_keys(self.account.seed, generation)
            self._umbral = keys.umbral_secret_key()
        return self._umbral

    def node_endpoints(self) -> dict[bytes, str]:
        if self._nodes is None:
            candidates = fetch_candidates(self.vox, REENCRYPT_KIND)
            self._nodes = {c.provider: c.offer.endpoint for c in candidates}
        return self._nodes

    def storage_endpoints(self) -> dict[bytes, str]:
        if self._providers is None:
            self._providers = {p.address: p.endpoint for p in fetch_providers(self.vox)}
        return self._providers

    def open_key(self, grant_id: bytes, grant: Grant, object_id: bytes) -> Opened:
        """The object's data key from m nodes of the grant. Raises FetchError."""
        entry = next((o for o in grant.objects if o[0] == object_id), None)
        # Verify the grant lists the object (committed sets need a proof: not asked here)
        if entry is None:
            raise FetchError(f"grant {grant_id.hex()} does not list object {object_id.hex()}")
        endpoints = self.node_endpoints()
        request = sign_access_request(
            self.account, grant_id, object_id, new_nonce(), int(time.time())
        )
        rid = request_id(request)
        # Ask m nodes (+ hedge), the ones that failed this session last; each failure asks the
        # next: every node asked is paid, so no more are asked than needed
        queue = sorted((n for n in grant.nodes if n in endpoints), key=lambda n: n in self._down)
        good: dict[bytes, NodeAnswer] = {}
        problems: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(queue))) as pool:
            running: dict[Future[NodeAnswer], bytes] = {}

            def start_more() -> None:
                while queue and len(running) < grant.threshold + self.hedge - len(good):
                    n = queue.pop(0)
                    running[pool.submit(self.ask, n, endpoints[n], request)] = n

            start_more()
            while running and len(good) < grant.threshold:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    node = running.pop(fut)
                    try:
                        answer = fut.result()
                        check_answer(answer, grant_id, object_id, rid, node, entry[1])
                        good[node] = answer
                    except (ConsentClientError, ConsentCryptoError) as exc:
                        problems[encode_address(node)] = str(exc)
                        self._down.add(node)
                if len(good) < grant.threshold:
                    start_more()
        # Verify m distinct nodes of the grant answered
        if len(good) < grant.threshold:
            raise FetchError(
                f"object {object_id.hex()}: {len(good)} of the {grant.threshold} answers needed "
                f"({problems})"
            )
        chosen = sorted(good)[: grant.threshold]
        kit = good[chosen[0]].kit
        try:
            key = combine_and_open(
                self.umbral_secret(),
                kit,
                [good[n].cfrag for n in chosen],
                grant.delegating_pk,
                grant.verifying_pk,
            )
            salt = open_for_account(self.account.seed, good[chosen[0]].salt)
        except (ConsentCryptoError, SealedBoxError) as exc:
            raise FetchError(f"object {object_id.hex()}: {exc}") from None
        return Opened(key, salt, chosen, rid)

    def fetch_object(self, grant_id: bytes, grant: Grant, object_id: bytes) -> tuple[bytes, Opened]:
        """The object's plaintext, checked against the grant's content hash. Raises FetchError."""
        start = time.perf_counter()
        opened = self.open_key(grant_id, grant, object_id)
        keyed = time.perf_counter()
        endpoints = self.storage_endpoints()
        deal = fetch_deal(self.vox, object_id, endpoints)
        if deal is None:
            raise FetchError(f"object {object_id.hex()} has no deal on chain")
        try:
            self.storage.grant_id = grant_id
            shards = fetch_shards(self.storage, deal, endpoints).shards
            fetched = time.perf_counter()
            ciphertext = erasure.decode(shards, deal.k, deal.n)[: deal.size]
            plaintext = vault.decrypt_object(opened.data_key, ciphertext)
        except (DataError, erasure.ErasureError, vault.VaultError) as exc:
            raise FetchError(f"object {object_id.hex()}: {exc}") from None
        committed = next(o[2] for o in grant.objects if o[0] == object_id)
        self.timings["keys"].append(keyed - start)
        self.timings["shards"].append(fetched - keyed)
        self.timings["decode"].append(time.perf_counter() - fetched)
        # Verify the plaintext is what the seller committed to (else: dispute evidence)
        if content_hash(opened.salt, plaintext) != committed:
            raise FetchError(
                f"object {object_id.hex()} does not match its content hash (dispute it)",
                "content_mismatch",
            )
        return plaintext, opened

    def fetch_all(
        self, grants: Sequence[tuple[bytes, Grant]], out: Path
    ) -> tuple[list[FetchedObject], dict[str, str]]:
        """Every listed object of `grants` into `out` with a manifest. Returns what was written
        and, by object id, why the others were not (an expired grant's nodes refuse)."""
        out.mkdir(parents=True, exist_ok=True)
        written: list[FetchedObject] = []
        failed: dict[str, str] = {}
        for grant_id, grant in grants:
            for object_id, _, committed in grant.objects:
                try:
                    plaintext, opened = self.fetch_object(grant_id, grant, object_id)
                except (FetchError, ConsentClientError) as exc:
                    failed[object_id.hex()] = f"[{exc.code}] {exc.message}"
                    continue
                target = out / f"{object_id.hex()}.bin"
                target.write_bytes(plaintext)
                written.append(
                    FetchedObject(
                        object_id.hex(),
                        grant_id.hex(),
                        target.name,
                        len(plaintext),
                        committed.hex(),
                        [encode_address(n) for n in opened.nodes],
                        opened.request_id.hex(),
                    )
                )
        manifest = {"objects": [asdict(w) for w in written], "failed": failed}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return written, failed


def check_answer(
    answer: NodeAnswer,
    grant_id: bytes,
    object_id: bytes,
    rid: bytes,
    node: bytes,
    committed_capsule: bytes,
) -> None:
    """Raises ConsentCryptoError or FetchError unless the answer is the asked node's, for this
    request, with the cfrag it attests and the kit the grant commits to."""
    att = open_answer(answer.attestation)
    # Verify the attestation: the asked node signed it, for this grant, object and request
    if (att.node, att.grant, att.object, att.request_id) != (node, grant_id, object_id, rid):
        raise FetchError("the attestation is for another node, grant, object or request")
    # Verify the cfrag is the one attested, the kit the one the grant names
    if hashlib.sha256(answer.cfrag).digest() != att.cfrag_hash:
        raise FetchError("the capsule fragment is not the one attested")
    if capsule_hash(answer.kit) != committed_capsule:
        raise FetchError("the kit is not the one the grant commits to")
