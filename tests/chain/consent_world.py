"""A small consent world for the consent module's tests: the storage world's providers and deals
(three objects of owner 0, one of owner 1), three privacy nodes with `reencrypt` offers, a
grantee, and helpers that sign real access requests and node answers (crypto/consent.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chain.harness import Chain, key
from tests.chain.storage_world import OWNER_KEYS, OWNERS, PROVIDERS, START, World
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.consent import state
from voxpop.chain.modules.services.module import ServicesModule
from voxpop.chain.modules.services.state import ServicesParams
from voxpop.chain.modules.storage.module import StorageModule
from voxpop.chain.modules.storage.state import StorageParams
from voxpop.crypto import consent as crypto
from voxpop.crypto.keys import PrivateKey

NODE_KEYS = [key(100 + i) for i in range(4)]  # node 3 registers no offer
NODES = [k.public_key.address for k in NODE_KEYS]
GRANTEE_KEY, OTHER_KEY, REPORTER_KEY = key(95), key(96), key(97)
GRANTEE, OTHER, REPORTER = (k.public_key.address for k in (GRANTEE_KEY, OTHER_KEY, REPORTER_KEY))
NODE_STAKE = 100_000
OBJECTS = [hashlib.sha256(b"object %d" % i).digest() for i in range(4)]  # 0-2 owner 0, 3 owner 1
DELEGATING_PK = crypto.umbral_public(
    bytes.fromhex("02" + "79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798")
).to_compressed_bytes()
GAS = 1_000_000


def entry(i: int) -> tuple[bytes, bytes, bytes]:
    """(object_id, capsule_hash, content_hash) of object i (stand-in hashes: the chain only
    compares them)."""
    oid = OBJECTS[i]
    return oid, hashlib.sha256(b"capsule" + oid).digest(), hashlib.sha256(b"content" + oid).digest()


@dataclass
class ConsentWorld:
    storage: World
    nonces: int = 0
    granted: dict[bytes, list[tuple[bytes, bytes, bytes]]] = field(default_factory=dict)

    @classmethod
    def start(cls, path: Path, params: state.ConsentParams | None = None) -> ConsentWorld:
        accounts = [*PROVIDERS, *OWNERS, *NODES, GRANTEE, OTHER, REPORTER]
        app_state = default_app_state([(a, START) for a in accounts])
        storage_params: StorageParams = World.params
        app_state["storage"] = {
            **StorageModule().default_genesis(),
            "params": storage_params.to_value(),
        }
        services = ServicesParams(kinds=("stt", "reencrypt"), min_stake=1_000)
        app_state["services"] = {
            **ServicesModule().default_genesis(),
            "params": services.to_value(),
        }
        if params is not None:
            app_state["consent"] = {"params": params.to_value(), "grants": [], "accesses": []}
            app_state["consent"]["reports"] = []
        world = cls(World(Chain.start(path, app_state=app_state)))
        for i in range(3):
            assert world.storage.register(i) == 0
        for n, owner in enumerate((0, 0, 0, 1)):
            assert world.storage.open_deal(owner, OBJECTS[n], [0, 1, 2]) == 0
        for i in range(3):
            assert world.register_node(i) == 0
        return world

    @property
    def chain(self) -> Chain:
        return self.storage.chain

    def send(self, signer: PrivateKey, type_: str, value: dict[str, Any]) -> int:
        """Deliver one message in its own block; its result code. A message refused before
        its fee leaves the sequence unused: the next tx takes the chain's number."""
        result = self.chain.deliver(self.chain.tx(signer, [(type_, value)], gas_limit=GAS))
        self.chain.sequences[signer.public_key.address] = self.chain.sequence(signer)
        return result.code

    def register_node(self, i: int, stake: int = NODE_STAKE) -> int:
        value = {
            "provider": NODES[i],
            "kind": "reencrypt",
            "endpoint": f"http://127.0.0.1:{7100 + i}",
            "price": 10,
            "languages": [],
            "signing_key": NODE_KEYS[i].public_key.raw,
            "stake": stake,
        }
        return self.send(NODE_KEYS[i], "services/Register", value)

    # --- consent messages ------------------------------------------------------------------------

    def grant_msg(self, grant_id: bytes, **kw: Any) -> dict[str, Any]:
        objects = kw.pop("objects", [entry(0), entry(1)])
        value = {
            "owner": OWNERS[0],
            "grant_id": grant_id,
            "grantee": GRANTEE,
            "purpose": "asr-training",
            "expiry": self.chain.time + 1_000,
            "max_accesses": 10,
            "objects": [list(o) for o in objects],
            "objects_root": b"",
            "object_count": len(objects),
            "nodes": NODES[:3],
            "threshold": 2,
            "delegating_pk": DELEGATING_PK,
            "verifying_pk": DELEGATING_PK,
            "offer_id": b"",
        }
        value.update(kw)
        return value

    def grant(self, grant_id: bytes, signer: PrivateKey = OWNER_KEYS[0], **kw: Any) -> int:
        value = self.grant_msg(grant_id, **kw)
        code = self.send(signer, "consent/Grant", value)
        if code == 0:
            self.granted[grant_id] = [tuple(o) for o in value["objects"]]
        return code

    def revoke(self, grant_id: bytes, signer: PrivateKey = OWNER_KEYS[0]) -> int:
        value = {"owner": signer.public_key.address, "grant_id": grant_id}
        return self.send(signer, "consent/Revoke", value)

    def request(
        self,
        grant_id: bytes,
        object_id: bytes,
        signer: PrivateKey = GRANTEE_KEY,
        *,
        time: int | None = None,
        proof: crypto.ObjectProof | None = None,
    ) -> bytes:
        self.nonces += 1
        nonce = self.nonces.to_bytes(16, "big")
        when = self.chain.time if time is None else time
        return crypto.sign_access_request(signer, grant_id, object_id, nonce, when, proof)

    def answer(self, node: int, request: bytes, height: int | None = None) -> bytes:
        opened, _ = crypto.open_access_request(request)
        at = self.chain.app.last_height if height is None else height
        cfrag = b"cfrag of node %d" % node
        return crypto.sign_answer(
            NODE_KEYS[node], opened.grant, opened.object, opened.request_id, cfrag, at
        )

    def record(
        self, node: int, records: list[tuple[bytes, bytes]], signer: int | None = None
    ) -> int:
        who = NODE_KEYS[node if signer is None else signer]
        value = {"node": who.public_key.address, "records": [list(r) for r in records]}
        return self.send(who, "consent/Record", value)

    def report(self, answer: bytes, request: bytes, signer: PrivateKey = REPORTER_KEY) -> int:
        value = {"reporter": signer.public_key.address, "answer": answer, "request": request}
        return self.send(signer, "consent/ReportMisuse", value)

    # --- reads -----------------------------------------------------------------------------------

    def get(self, grant_id: bytes) -> state.Grant | None:
        return state.get_grant(self.chain.app.committed, grant_id)

    def access(self, grant_id: bytes, request: bytes) -> state.Access | None:
        rid = crypto.request_id(request)
        return state.get_access(self.chain.app.committed, grant_id, rid)
