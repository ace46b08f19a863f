"""Making an access grant (issue 14): the owner's side.

    create_grant(vault, nodes, terms) ->
      labelled objects from the sealed index (each with its salt and content hash)
      -> each object's data key, from its header on the storage nodes (the owner's Umbral key)
      -> fresh grant keys; one kit per object: the data key under the grant's delegating key
      -> n privacy nodes (services offers of kind `reencrypt`, distinct providers, proven) and
         their X25519 directory keys; the grantee's Umbral key from the key directory (proven)
      -> n key fragments (threshold m), each sealed to one node
      -> consent/Grant on chain (object ids, capsule hashes, content hashes: no label, no key)
      -> each node gets its sealed fragment, the kits and each object's salt sealed to the grantee

The order matters: a node accepts a fragment only for a grant the chain already holds that
names it. The owner keeps no grant secret: a lost node's fragment is not re-made, the owner
grants again (and revokes the old grant) instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from voxpop.client.consent.errors import ConsentClientError, GrantError
from voxpop.client.consent.nodes import PrivacyNodes
from voxpop.client.payments.offers import fetch_candidates
from voxpop.client.storage.pipeline import DataVault
from voxpop.crypto import vault as vault_crypto
from voxpop.crypto.address import encode_address
from voxpop.crypto.consent import (
    ID_SIZE,
    capsule_hash,
    make_kfrags,
    make_kits,
    new_grant_keys,
    seal_kfrag,
)
from voxpop.node.service import BroadcastResult

REENCRYPT_KIND = "reencrypt"
GRANT_GAS = 400_000
REVOKE_GAS = 150_000


@dataclass(frozen=True, slots=True)
class GrantTerms:
    grantee: bytes  # address
    purpose: str
    expiry: int  # unix seconds
    max_accesses: int
    object_ids: tuple[bytes, ...]
    threshold: int = 2
    shares: int = 3
    offer_id: bytes = b""


@dataclass(frozen=True, slots=True)
class PrivacyNode:
    address: bytes
    endpoint: str
    x25519: bytes


@dataclass
class GrantResult:
    grant_id: bytes
    tx_hash: str
    height: int
    nodes: list[bytes]
    failed: dict[str, str] = field(default_factory=dict)  # node address -> why delivery failed


def choose_privacy_nodes(vault: DataVault, shares: int) -> list[PrivacyNode]:
    """`shares` registered privacy nodes, one per provider, lowest price first (ties: address),
    each with its proven X25519 directory key. Raises GrantError when too few are registered."""
    candidates = sorted(
        fetch_candidates(vault.vox, REENCRYPT_KIND), key=lambda c: (c.offer.price, c.provider)
    )
    chosen: list[PrivacyNode] = []
    for c in candidates:
        if len(chosen) == shares:
            break
        record = vault.vox.directory_keys(c.provider, prove=True).record
        # Verify the node publishes a live X25519 key (its fragment is sealed to it)
        if record is None or record.x25519 is None:
            continue
        chosen.append(PrivacyNode(c.provider, c.offer.endpoint, record.x25519))
    if len(chosen) < shares:
        raise GrantError(
            f"{len(chosen)} privacy nodes with published keys; the grant needs {shares}"
        )
    return chosen


def create_grant(vault: DataVault, terms: GrantTerms) -> GrantResult:
    """Grant `terms.grantee` access to labelled objects of this owner. Raises GrantError (also
    for an object not labelled), DataError, VoxClientError. Nodes that did not take their
    fragment are in `failed`: the grant works while m of them did."""
    # Verify the shape before any work: 1 <= m <= n, objects distinct
    if not 1 <= terms.threshold <= terms.shares:
        raise GrantError(f"need 1 <= threshold <= shares, got {terms.threshold} of {terms.shares}")
    if not terms.object_ids or len(set(terms.object_ids)) != len(terms.object_ids):
        raise GrantError("a grant needs distinct objects")
    entries = []
    for object_id in terms.object_ids:
        entry = vault.index.get(object_id.hex())
        # Verify each object is labelled: its salted content hash is what the grant publishes
        if entry is None or not entry.content_hash:
            raise GrantError(f"object {object_id.hex()} is not labelled (voxpop data label)")
        entries.append(entry)
    grantee = vault.vox.directory_keys(terms.grantee, prove=True).record
    # Verify the grantee publishes keys: the fragments re-encrypt to its Umbral key
    if grantee is None or grantee.secp256k1 is None or grantee.x25519 is None:
        raise GrantError(f"{encode_address(terms.grantee)} publishes no encryption keys")
    nodes = choose_privacy_nodes(vault, terms.shares)
    data_keys = _data_keys(vault, terms.object_ids)
    keys = new_grant_keys()
    kits = make_kits(keys.delegating_pk, data_keys)
    kfrags = make_kfrags(keys, grantee.secp256k1, terms.threshold, terms.shares)
    grant_id = os.urandom(ID_SIZE)
    objects = [
        (oid, capsule_hash(kit), bytes.fromhex(e.content_hash))
        for oid, kit, e in zip(terms.object_ids, kits, entries, strict=True)
    ]
    msg = (
        "consent/Grant",
        {
            "owner": vault.owner,
            "grant_id": grant_id,
            "grantee": terms.grantee,
            "purpose": terms.purpose,
            "expiry": terms.expiry,
            "max_accesses": terms.max_accesses,
            "objects": objects,
            "objects_root": b"",
            "object_count": len(objects),
            "nodes": [n.address for n in nodes],
            "threshold": terms.threshold,
            "delegating_pk": keys.delegating_pk,
            "verifying_pk": keys.verifying_pk,
            "offer_id": terms.offer_id,
        },
    )
    result = vault.vox.execute(vault.account, [msg], gas_limit=GRANT_GAS, mode="commit")
    check_tx(result, "consent/Grant")
    # Each object's salt, sealed to the grantee, so it can check what it decrypts
    salts = [vault.vox.encrypt_to(terms.grantee, bytes.fromhex(e.salt)) for e in entries]
    bundle = [
        [oid, kit, salt] for oid, kit, salt in zip(terms.object_ids, kits, salts, strict=True)
    ]
    failed: dict[str, str] = {}
    with PrivacyNodes(vault.account) as http, ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = {
            pool.submit(
                http.put_grant, node.endpoint, grant_id, seal_kfrag(node.x25519, kfrag), bundle
            ): node
            for node, kfrag in zip(nodes, kfrags, strict=True)
        }
        for fut, node in futures.items():
            try:
                fut.result()
            except ConsentClientError as exc:
                failed[encode_address(node.address)] = exc.message
    return GrantResult(
        grant_id, result.tx_hash.hex(), result.height, [n.address for n in nodes], failed
    )


def revoke_grant(vault: DataVault, grant_id: bytes) -> str:
    """End a grant at once (consent/Revoke). Returns the tx hash."""
    msg = ("consent/Revoke", {"owner": vault.owner, "grant_id": grant_id})
    result = vault.vox.execute(vault.account, [msg], gas_limit=REVOKE_GAS, mode="commit")
    check_tx(result, "consent/Revoke")
    return str(result.tx_hash.hex())


def _data_keys(vault: DataVault, object_ids: Sequence[bytes]) -> list[bytes]:
    """Each object's data key, from its header (the one the deal commits to)."""
    endpoints = vault.endpoints()
    out = []
    for object_id in object_ids:
        deal = vault.deal(object_id, endpoints)
        try:
            header = vault_crypto.open_header(vault.fetch_header(deal, endpoints))
        except vault_crypto.VaultError as exc:
            raise GrantError(f"object {object_id.hex()}'s header: {exc}") from None
        out.append(vault.unwrap(header, vault.index.get(object_id.hex())))
    return out


def check_tx(result: BroadcastResult, what: str) -> None:
    # Verify the tx executed in a block (a failed tx changes nothing but its fee)
    if result.code != 0:
        raise GrantError(f"{what} failed (code {result.code}): {result.log}")
    if result.height == 0:
        raise GrantError(f"{what} was accepted but not committed in time")
