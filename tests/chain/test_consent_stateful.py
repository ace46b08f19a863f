"""consent under random grant / revoke / ask / record / report / wait sequences, against a model
written from the README.

Each tx goes in its own block. After every step: the exact result code, each grant's counted
accesses and end heights, each object's count, and every module's invariants (the harness checks
them after each block: lists match their items, counts match the counted access records, the
expiry queue holds the grants not yet expired, the services account holds the stakes left after
slashes).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.chain.consent_world import NODES, OBJECTS, OTHER_KEY, ConsentWorld, entry
from tests.chain.storage_world import OWNER_KEYS
from voxpop.chain import errors
from voxpop.chain.modules.consent import state
from voxpop.crypto import consent as crypto

OK = 0


@dataclass
class Model:
    grant_id: bytes
    nodes: tuple[int, ...]
    threshold: int
    objects: tuple[int, ...]
    expiry: int
    created_at: int
    ended_at: int = 0
    revoked: bool = False
    max_accesses: int = 10
    accesses: int = 0
    exhausted_at: int = 0
    per_object: dict[int, int] = field(default_factory=dict)
    # request -> (object, nodes that recorded, height it counted at or 0)
    requests: dict[bytes, tuple[int, set[int], int]] = field(default_factory=dict)

    def no_access_left_for(self, request: bytes, height: int) -> bool:
        """State at `height` showed no accesses left, and the request had not counted by then."""
        counted_at = self.requests.get(request, (0, set(), 0))[2]
        fresh = not counted_at or counted_at > height
        return self.exhausted_at != 0 and height >= self.exhausted_at and fresh


class ConsentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-consent-"))
        self.world = ConsentWorld.start(self.dir / "s")
        self.grants: list[Model] = []
        # answers a node gave: (grant index, request, answer, node, height, live when given)
        self.answers: list[tuple[int, bytes, bytes, int, int, bool]] = []
        self.reported: set[tuple[bytes, int]] = set()

    def teardown(self) -> None:
        self.world.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def height(self) -> int:
        return self.world.chain.app.last_height

    def live(self, g: Model) -> bool:
        return g.ended_at == 0

    def expire(self) -> None:
        """Mark in the model what the chain's begin-block marks: expiry reached by block time."""
        for g in self.grants:
            if g.ended_at == 0 and self.world.chain.time >= g.expiry:
                g.ended_at = self.height

    @initialize(lifetime=st.sampled_from([60, 400]))
    def first_grant(self, lifetime: int) -> None:
        """A live 2-of-3 grant from the start, so that asks and records have one to use."""
        self.grant([0, 1, 2], 2, [0, 1], lifetime, "", 3)

    @rule(
        nodes=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
        threshold=st.integers(1, 3),
        objects=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
        lifetime=st.sampled_from([15, 40, 200]),
        stranger=st.sampled_from(["", "", "", "", "node", "object"]),
        max_accesses=st.integers(1, 3),
    )
    def grant(
        self,
        nodes: list[int],
        threshold: int,
        objects: list[int],
        lifetime: int,
        stranger: str,
        max_accesses: int,
    ) -> None:
        """A grant, now and then naming node 3 (no reencrypt offer) or object 3 (owner 1's)."""
        nodes = [*nodes, 3] if stranger == "node" else nodes
        objects = [*objects, 3] if stranger == "object" else objects
        grant_id = hashlib.sha256(b"grant %d" % len(self.grants)).digest()
        expiry = self.world.chain.time + lifetime
        code = self.world.grant(
            grant_id,
            nodes=[NODES[n] for n in nodes],
            threshold=threshold,
            objects=[entry(o) for o in objects],
            expiry=expiry,
            max_accesses=max_accesses,
        )
        if threshold > len(nodes):
            expected = errors.ConsentBadThresholdError.code
        elif 3 in nodes:
            expected = errors.ConsentBadNodeError.code
        elif 3 in objects:
            expected = errors.ConsentObjectNotOwnedError.code
        else:
            expected = OK
        assert code == expected
        self.expire()
        event(f"grant -> {code}")
        if code == OK:
            self.grants.append(
                Model(
                    grant_id,
                    tuple(nodes),
                    threshold,
                    tuple(objects),
                    expiry,
                    self.height,
                    max_accesses=max_accesses,
                )
            )

    @rule(data=st.data(), by_owner=st.booleans())
    def revoke(self, data: st.DataObject, by_owner: bool) -> None:
        if not self.grants:
            return
        g = data.draw(st.sampled_from(self.grants))
        code = self.world.revoke(g.grant_id, OWNER_KEYS[0] if by_owner else OTHER_KEY)
        self.expire_before_tx(g)
        if not by_owner:
            expected = errors.ConsentNotOwnerError.code
        elif not self.live(g):
            expected = errors.ConsentGrantNotLiveError.code
        else:
            expected = OK
        assert code == expected
        if code == OK:
            g.ended_at, g.revoked = self.height, True
        self.expire()

    def expire_before_tx(self, g: Model) -> None:
        """The block that ran the tx marked expiries before its txs."""
        if g.ended_at == 0 and self.world.chain.time >= g.expiry:
            g.ended_at = self.height

    @rule(
        data=st.data(),
        obj=st.sampled_from([0, 0, 1, 1, 2, 3]),
        node=st.sampled_from([0, 0, 1, 1, 2, 2, 3]),
    )
    def ask_and_record(self, data: st.DataObject, obj: int, node: int) -> None:
        """The grantee asks a node; the node records its answer in the next block."""
        if not self.grants:
            return
        gi = data.draw(st.integers(0, len(self.grants) - 1))
        g = self.grants[gi]
        pending = [r for r, (o, ns, _) in g.requests.items() if node not in ns]
        reuse: bool = data.draw(st.booleans()) if pending else False
        if reuse:
            request = data.draw(st.sampled_from(pending))
            obj = g.requests[request][0]
        else:
            request = self.world.request(g.grant_id, OBJECTS[obj])
        answer = self.world.answer(node, request)
        at = self.height
        live_when_given = self.live(g)
        exhausted = g.no_access_left_for(request, at)
        code = self.world.record(node, [(answer, request)])
        if node not in g.nodes:
            expected = errors.ConsentNodeNotInGrantError.code
        elif obj not in g.objects:
            expected = errors.ConsentObjectNotCoveredError.code
        elif not live_when_given or exhausted:
            expected = errors.ConsentGrantNotLiveError.code
        else:
            expected = OK
        assert code == expected, (code, expected)
        event(f"record -> {code}" + (" (no accesses left)" if exhausted else ""))
        if node in g.nodes and obj in g.objects:
            self.answers.append((gi, request, answer, node, at, live_when_given))
        if code == OK:
            o, ns, counted_at = g.requests.get(request, (obj, set(), 0))
            ns.add(node)
            if not counted_at and len(ns) >= g.threshold:
                counted_at = self.height
                g.accesses += 1
                g.per_object[obj] = g.per_object.get(obj, 0) + 1
                if g.accesses >= g.max_accesses and not g.exhausted_at:
                    g.exhausted_at = self.height
            g.requests[request] = (o, ns, counted_at)
        self.expire()

    @rule(data=st.data())
    def report(self, data: st.DataObject) -> None:
        if not self.answers:
            return
        gi, request, answer, node, at, live = data.draw(st.sampled_from(self.answers))
        g = self.grants[gi]
        code = self.world.report(answer, request)
        if live and not g.no_access_left_for(request, at):
            expected = errors.ConsentNoMisuseError.code
        elif (request, node) in self.reported:
            expected = errors.ConsentMisuseReportedError.code
        else:
            expected = OK
        assert code == expected, (code, expected)
        event(f"report -> {code}")
        if code == OK:
            self.reported.add((request, node))
        self.expire()
        _ = g

    @rule(blocks=st.integers(1, 6))
    def wait(self, blocks: int) -> None:
        for _ in range(blocks):
            self.world.chain.block([])
            self.expire()

    @invariant()
    def grants_match(self) -> None:
        committed = self.world.chain.app.committed
        for g in self.grants:
            grant = state.get_grant(committed, g.grant_id)
            assert grant is not None
            assert grant.ended_at == g.ended_at
            assert grant.accesses == g.accesses
            for obj, n in g.per_object.items():
                assert state.counted_accesses_of(committed, g.grant_id, OBJECTS[obj]) == n
            assert grant.exhausted_at == g.exhausted_at
            for request, (_, ns, counted_at) in g.requests.items():
                rid = crypto.request_id(request)
                assert state.access_counted(committed, g.grant_id, rid) == bool(counted_at)
                access = state.get_access(committed, g.grant_id, rid)
                assert access is not None and set(access.nodes) == {NODES[n] for n in ns}


ConsentMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=30, deadline=None)
TestConsentStateful = ConsentMachine.TestCase
