"""Consent and market state read from the chain, each answer proven by the light client (a node
cannot show the owner a false audit trail, nor the buyer a grant that is not there)."""

from __future__ import annotations

from voxpop.chain.errors import ChainError
from voxpop.chain.modules.consent.state import Access, Grant, decode_access, decode_grant
from voxpop.client.errors import NotFoundError, ProtocolError
from voxpop.client.sync import VoxClient

GRANT_PATH = "/consent/grant"
BY_OWNER_PATH = "/consent/by_owner"
BY_GRANTEE_PATH = "/consent/by_grantee"
ACCESSES_PATH = "/consent/accesses"


def fetch_grant(vox: VoxClient, grant_id: bytes) -> Grant | None:
    try:
        result = vox.query(GRANT_PATH, grant_id, prove=True)
    except NotFoundError:
        return None
    if not result.value:
        return None
    return _grant(grant_id, result.value)


def _grant(grant_id: bytes, raw: bytes) -> Grant:
    try:
        return decode_grant(raw)
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed grant {grant_id.hex()}") from None


def _grants(vox: VoxClient, path: str, account: bytes) -> list[tuple[bytes, Grant]]:
    try:
        listed = vox.query_list(path, account, prove=True)
    except NotFoundError:
        return []
    return [(item.id, _grant(item.id, item.value)) for item in listed.items]


def grants_of_owner(vox: VoxClient, owner: bytes) -> list[tuple[bytes, Grant]]:
    """(grant id, grant) of every grant the owner made, proven complete."""
    return _grants(vox, BY_OWNER_PATH, owner)


def grants_of_grantee(vox: VoxClient, grantee: bytes) -> list[tuple[bytes, Grant]]:
    return _grants(vox, BY_GRANTEE_PATH, grantee)


def accesses_of(vox: VoxClient, grant_id: bytes) -> list[tuple[bytes, Access]]:
    """(request id, access record) of every access the grant's nodes recorded, proven complete:
    the owner's audit trail."""
    try:
        listed = vox.query_list(ACCESSES_PATH, grant_id, prove=True)
    except NotFoundError:
        return []
    out = []
    for item in listed.items:
        try:
            out.append((item.id, decode_access(item.value)))
        except (ChainError, KeyError, TypeError, ValueError):
            raise ProtocolError(f"malformed access record {item.id.hex()}") from None
    return out
