"""The consent module: access grants an owner gives a grantee to stored objects, for a purpose,
until an expiry, for a number of accesses; the access records privacy nodes post; slashing of
nodes that answer for grants no longer live. Cryptography: crypto/consent.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.consent import handlers, state
from voxpop.chain.modules.consent.messages import (
    MsgGrant,
    MsgRecord,
    MsgReportMisuse,
    MsgRevoke,
)

GENESIS_FIELDS = {"params", "grants", "accesses", "reports"}
ID_LEN = state.ID_LEN


def _grant_query(data: bytes) -> bytes:
    """`/consent/grant`: data = grant id (32 bytes)."""
    # Verify one grant id
    if len(data) != ID_LEN:
        raise InvalidQueryError(f"query data must be a {ID_LEN}-byte grant id")
    return state.grant_key(data)


def _access_query(data: bytes) -> bytes:
    """`/consent/access`: data = grant id ‖ request id (64 bytes)."""
    # Verify a grant id and a request id
    if len(data) != 2 * ID_LEN:
        raise InvalidQueryError("query data must be a grant id and a request id (64 bytes)")
    return state.access_key(data[:ID_LEN], data[ID_LEN:])


def _object_count_query(data: bytes) -> bytes:
    """`/consent/object_accesses`: data = grant id ‖ object id (64 bytes)."""
    # Verify a grant id and an object id
    if len(data) != 2 * ID_LEN:
        raise InvalidQueryError("query data must be a grant id and an object id (64 bytes)")
    return state.object_count_key(data[:ID_LEN], data[ID_LEN:])


class ConsentModule(Module):
    name = "consent"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.ConsentParams.from_value, state.ConsentParams)

    def params_value(self, reader: KVReader) -> dict[str, Any]:
        return state.read_params(reader).to_value()

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgGrant.TYPE: MsgRoute(MsgGrant, handlers.process_grant),
            MsgRevoke.TYPE: MsgRoute(MsgRevoke, handlers.process_revoke),
            MsgRecord.TYPE: MsgRoute(MsgRecord, handlers.process_record),
            MsgReportMisuse.TYPE: MsgRoute(MsgReportMisuse, handlers.process_report_misuse),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "grant": _grant_query,
            "access": _access_query,
            "object_accesses": _object_count_query,
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {
            "by_owner": ListRoute(state.GRANTS_BY_OWNER, lambda _, gid: state.grant_key(gid)),
            "by_grantee": ListRoute(state.GRANTS_BY_GRANTEE, lambda _, gid: state.grant_key(gid)),
            "accesses": ListRoute(
                state.ACCESSES_OF_GRANT, lambda gid, rid: state.access_key(gid, rid)
            ),
        }

    def begin_block(self, ctx: Context) -> None:
        for grant_id in state.mark_expired(ctx):
            ctx.emit("consent_expire", grant_id=grant_id.hex(), height=str(ctx.block.height))

    def default_genesis(self) -> dict[str, Any]:
        return {
            "params": state.ConsentParams().to_value(),
            "grants": [],
            "accesses": [],
            "reports": [],
        }

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the params, then each grant, access and report
        if set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"consent genesis needs exactly {sorted(GENESIS_FIELDS)}")
        for name in ("grants", "accesses", "reports"):
            if not isinstance(data[name], list):
                raise InvalidGenesisError(f"consent genesis: {name} must be a list")
        state.set_params(ctx, state.ConsentParams.from_value(data["params"]))
        grants: dict[bytes, state.Grant] = {}
        for i, entry in enumerate(data["grants"]):
            where = f"consent.grants[{i}]"
            grant_id, grant = genesis_grant(entry, where)
            if grant_id in grants:
                raise InvalidGenesisError(f"{where}: duplicate grant id")
            grants[grant_id] = grant
        counted: dict[bytes, int] = {}
        for i, entry in enumerate(data["accesses"]):
            where = f"consent.accesses[{i}]"
            grant_id, request_id, access = genesis_access(entry, where)
            owning = grants.get(grant_id)
            # Verify the access belongs to a grant, by its nodes, counted exactly at m
            if owning is None:
                raise InvalidGenesisError(f"{where}: no such grant")
            if state.get_access(ctx, grant_id, request_id) is not None:
                raise InvalidGenesisError(f"{where}: duplicate access")
            if broken := _access_breach(owning, access):
                raise InvalidGenesisError(f"{where}: {broken}")
            try:
                state.set_access(ctx, grant_id, request_id, access)
            except ChainError as exc:  # a full list
                raise InvalidGenesisError(f"{where}: {exc.message}") from None
            if access.counted_at:
                counted[grant_id] = counted.get(grant_id, 0) + 1
                n = state.counted_accesses_of(ctx, grant_id, access.object) + 1
                ctx.set(state.object_count_key(grant_id, access.object), n.to_bytes(8, "big"))
        for grant_id, grant in grants.items():
            # Verify each grant's count is its counted accesses
            if grant.accesses != counted.get(grant_id, 0):
                raise InvalidGenesisError(f"consent grant {grant_id.hex()}: accesses miscounted")
            try:
                state.create_grant(ctx, grant_id, grant)
            except ChainError as exc:  # a full list
                raise InvalidGenesisError(f"consent.grants: {exc.message}") from None
            if grant.expired_at:
                ctx.delete(state.expiry_key(grant.expiry, grant_id))
        for i, entry in enumerate(data["reports"]):
            where = f"consent.reports[{i}]"
            if not isinstance(entry, list) or len(entry) != 3:
                raise InvalidGenesisError(f"{where} is [grant id, request id, node]")
            grant_id, request_id = _hex(entry[0], ID_LEN, where), _hex(entry[1], ID_LEN, where)
            node = genesis_address(entry[2], where)
            if grant_id not in grants:
                raise InvalidGenesisError(f"{where}: no such grant")
            state.set_reported(ctx, grant_id, request_id, node)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "grants": [grant_json(gid, g) for gid, g in state.read_grants(reader)],
            "accesses": [access_json(gid, rid, a) for gid, rid, a in state.read_accesses(reader)],
            "reports": [
                [gid.hex(), rid.hex(), addr_text(node)]
                for gid, rid, node in state.read_reports(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("consent/accesses", _accesses_consistent),
            Invariant("consent/expiry-queue", _expiry_queue),
            Invariant("consent/lists", _lists_match),
        ]


def _hex(value: Any, size: int, where: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise InvalidGenesisError(f"{where}: expected hex") from None
    if len(raw) != size:
        raise InvalidGenesisError(f"{where}: expected {size} bytes")
    return raw


def _uint(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 64:
        raise InvalidGenesisError(f"{where} must be a 64-bit unsigned integer")
    return value


def grant_json(grant_id: bytes, grant: state.Grant) -> dict[str, Any]:
    """A grant as genesis files, the API and the CLI show it."""
    return {
        "id": grant_id.hex(),
        "owner": addr_text(grant.owner),
        "grantee": addr_text(grant.grantee),
        "purpose": grant.purpose,
        "expiry": grant.expiry,
        "max_accesses": grant.max_accesses,
        "objects": [[o.hex() for o in obj] for obj in grant.objects],
        "objects_root": grant.objects_root.hex(),
        "object_count": grant.object_count,
        "nodes": [addr_text(n) for n in grant.nodes],
        "threshold": grant.threshold,
        "delegating_pk": grant.delegating_pk.hex(),
        "verifying_pk": grant.verifying_pk.hex(),
        "offer_id": grant.offer_id.hex(),
        "created_at": grant.created_at,
        "expired_at": grant.expired_at,
        "revoked_at": grant.revoked_at,
        "revoked_time": grant.revoked_time,
        "accesses": grant.accesses,
        "exhausted_at": grant.exhausted_at,
    }


def genesis_grant(entry: Any, where: str) -> tuple[bytes, state.Grant]:
    """A grant from its JSON shape (`grant_json`), checked. Raises InvalidGenesisError."""
    fields = {"id", *state.GRANT_FIELDS}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(fields)}")
    objects = entry["objects"]
    nodes = entry["nodes"]
    if not isinstance(objects, list) or not isinstance(nodes, list):
        raise InvalidGenesisError(f"{where}: objects and nodes are lists")
    listed = []
    for j, obj in enumerate(objects):
        if not isinstance(obj, list) or len(obj) != 3:
            raise InvalidGenesisError(f"{where}.objects[{j}] is three hex hashes")
        listed.append(tuple(_hex(h, ID_LEN, f"{where}.objects[{j}]") for h in obj))
    root = entry["objects_root"]
    grant = state.Grant(
        owner=genesis_address(entry["owner"], f"{where}.owner"),
        grantee=genesis_address(entry["grantee"], f"{where}.grantee"),
        purpose=entry["purpose"] if isinstance(entry["purpose"], str) else "",
        expiry=_uint(entry["expiry"], f"{where}.expiry"),
        max_accesses=_uint(entry["max_accesses"], f"{where}.max_accesses"),
        objects=tuple((o[0], o[1], o[2]) for o in listed),
        objects_root=_hex(root, ID_LEN, f"{where}.objects_root") if root else b"",
        object_count=_uint(entry["object_count"], f"{where}.object_count"),
        nodes=tuple(genesis_address(n, f"{where}.nodes") for n in nodes),
        threshold=_uint(entry["threshold"], f"{where}.threshold"),
        delegating_pk=_hex(entry["delegating_pk"], 33, f"{where}.delegating_pk"),
        verifying_pk=_hex(entry["verifying_pk"], 33, f"{where}.verifying_pk"),
        offer_id=_hex(entry["offer_id"], ID_LEN, where) if entry["offer_id"] else b"",
        created_at=_uint(entry["created_at"], f"{where}.created_at"),
        expired_at=_uint(entry["expired_at"], f"{where}.expired_at"),
        revoked_at=_uint(entry["revoked_at"], f"{where}.revoked_at"),
        revoked_time=_uint(entry["revoked_time"], f"{where}.revoked_time"),
        accesses=_uint(entry["accesses"], f"{where}.accesses"),
        exhausted_at=_uint(entry["exhausted_at"], f"{where}.exhausted_at"),
    )
    # Verify what the Grant message guarantees of every grant on chain
    if broken := _grant_breach(grant):
        raise InvalidGenesisError(f"{where}: {broken}")
    return _hex(entry["id"], ID_LEN, f"{where}.id"), grant


def _grant_breach(grant: state.Grant) -> str | None:
    if not grant.purpose:
        return "no purpose"
    if not 1 <= grant.threshold <= len(grant.nodes) or len(set(grant.nodes)) != len(grant.nodes):
        return "needs 1 <= threshold <= distinct nodes"
    if grant.objects and (grant.objects_root or grant.object_count != len(grant.objects)):
        return "listed objects need no root and their count"
    if not grant.objects and (len(grant.objects_root) != ID_LEN or grant.object_count < 1):
        return "needs listed objects or a root"
    if not grant.max_accesses >= 1:
        return "max_accesses is at least 1"
    return None


def access_json(grant_id: bytes, request_id: bytes, access: state.Access) -> dict[str, Any]:
    return {
        "grant": grant_id.hex(),
        "request_id": request_id.hex(),
        "object": access.object.hex(),
        "time": access.time,
        "nodes": [addr_text(n) for n in access.nodes],
        "height": access.height,
        "counted_at": access.counted_at,
    }


def genesis_access(entry: Any, where: str) -> tuple[bytes, bytes, state.Access]:
    fields = {"grant", "request_id", "object", "time", "nodes", "height", "counted_at"}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(fields)}")
    if not isinstance(entry["nodes"], list):
        raise InvalidGenesisError(f"{where}.nodes is a list")
    access = state.Access(
        _hex(entry["object"], ID_LEN, f"{where}.object"),
        _uint(entry["time"], f"{where}.time"),
        tuple(genesis_address(n, f"{where}.nodes") for n in entry["nodes"]),
        _uint(entry["height"], f"{where}.height"),
        _uint(entry["counted_at"], f"{where}.counted_at"),
    )
    grant_id = _hex(entry["grant"], ID_LEN, f"{where}.grant")
    return grant_id, _hex(entry["request_id"], ID_LEN, f"{where}.request_id"), access


def _access_breach(grant: state.Grant, access: state.Access) -> str | None:
    if not access.nodes or len(set(access.nodes)) != len(access.nodes):
        return "an access has distinct nodes"
    if not set(access.nodes) <= set(grant.nodes):
        return "an access node is not the grant's"
    if bool(access.counted_at) != (len(access.nodes) >= grant.threshold):
        return "an access counts exactly when m nodes recorded it"
    return None


# --- invariants -------------------------------------------------------------------------------


def _accesses_consistent(reader: KVReader) -> str | None:
    """Each access is by its grant's nodes and counted exactly at m; each grant's and object's
    count is its counted accesses."""
    grants = dict(state.read_grants(reader))
    totals: dict[bytes, int] = {}
    per_object: dict[tuple[bytes, bytes], int] = {}
    for grant_id, request_id, access in state.read_accesses(reader):
        grant = grants.get(grant_id)
        if grant is None:
            return f"access {request_id.hex()} of a missing grant"
        if broken := _access_breach(grant, access):
            return f"access {request_id.hex()}: {broken}"
        if access.counted_at:
            totals[grant_id] = totals.get(grant_id, 0) + 1
            key = (grant_id, access.object)
            per_object[key] = per_object.get(key, 0) + 1
    for grant_id, grant in grants.items():
        if grant.accesses != totals.get(grant_id, 0):
            return f"grant {grant_id.hex()} counts {grant.accesses} accesses"
    stored = {(g, o): n for g, o, n in state.read_object_counts(reader)}
    if stored != per_object:
        return "the per-object counts differ from the counted accesses"
    return None


def _expiry_queue(reader: KVReader) -> str | None:
    """One queue entry per grant not yet marked expired, at its expiry."""
    expected = sorted((g.expiry, gid) for gid, g in state.read_grants(reader) if not g.expired_at)
    if state.read_expiry_queue(reader) != expected:
        return "the expiry queue differs from the grants not yet expired"
    return None


def _lists_match(reader: KVReader) -> str | None:
    """The lists' commitments match, and they name exactly the grants and access records."""
    for index in (state.GRANTS_BY_OWNER, state.GRANTS_BY_GRANTEE, state.ACCESSES_OF_GRANT):
        if broken := index.check(reader):
            return broken
    grants = state.read_grants(reader)
    expected = (
        (state.GRANTS_BY_OWNER, sorted(g.owner + gid for gid, g in grants)),
        (state.GRANTS_BY_GRANTEE, sorted(g.grantee + gid for gid, g in grants)),
        (state.ACCESSES_OF_GRANT, [gid + rid for gid, rid, _ in state.read_accesses(reader)]),
    )
    for index, keys in expected:
        listed = [key[len(index.index_prefix) :] for key, _ in reader.iterate(index.index_prefix)]
        if listed != keys:
            return f"the list under {index.index_prefix!r} does not match"
    return None
