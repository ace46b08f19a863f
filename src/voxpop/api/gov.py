"""Governance reads: proposals and their tallies, each read through the provable gov queries.

    GET /v1/gov/proposals?status=&after=&limit=     {"proposals": [...], "last_id": n}
    GET /v1/gov/proposals/{id}                      the proposal, and its tally once voted
    GET /v1/gov/proposals/{id}/tally?offset=&limit= the tally and the entries it counted

The node reads each record by its one key (`/gov/proposal`, `/gov/tally`, `/gov/tally_chunk`);
a client that must not trust the node verifies them (`voxpop query gov tally ID --verify`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query
from starlette.concurrency import run_in_threadpool

from voxpop.api.errors import ApiError, chain_error, query_error_status
from voxpop.chain.abci import RequestQuery
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.errors import CODESPACE, UnknownProposalError
from voxpop.chain.modules.gov import state, tally, views
from voxpop.node.service import NodeService

MAX_LIMIT = 1_000


def _read(node: NodeService, path: str, data: bytes = b"") -> bytes:
    resp = node.query(RequestQuery(path=path, data=data))
    if resp.code != 0:
        raise chain_error(query_error_status(resp.code), resp.code, resp.codespace, resp.log)
    return resp.value


def _proposal(node: NodeService, pid: int) -> state.Proposal | None:
    raw = _read(node, "/gov/proposal", state.id_bytes(pid))
    return state.decode_proposal(raw) if raw else None


def _tally(node: NodeService, pid: int) -> state.TallyResult | None:
    raw = _read(node, "/gov/tally", state.id_bytes(pid))
    return state.TallyResult(**decode_state(raw)) if raw else None


def list_proposals(node: NodeService, status: str | None, after: int, limit: int) -> dict[str, Any]:
    raw = _read(node, "/store", state.SEQ_KEY)
    last = decode_uint(raw) if raw else 0
    out = []
    for pid in range(after + 1, last + 1):
        p = _proposal(node, pid)
        if p is None or (status is not None and state.STATUS_NAMES[p.status] != status):
            continue
        out.append(views.proposal_json(p))
        if len(out) >= limit:
            break
    return {"proposals": out, "last_id": last}


def get_proposal(node: NodeService, pid: int) -> dict[str, Any]:
    p = _proposal(node, pid)
    # Verify the proposal exists
    if p is None:
        raise _unknown(pid)
    t = _tally(node, pid)
    return {**views.proposal_json(p), "tally": views.tally_json(t) if t else None}


def get_tally(node: NodeService, pid: int, offset: int, limit: int) -> dict[str, Any]:
    t = _tally(node, pid)
    # Verify the proposal has been tallied
    if t is None:
        raise ApiError(404, "tally_not_found", f"proposal {pid} has no tally (yet)")
    first, last = offset // tally.CHUNK_ENTRIES, (offset + limit - 1) // tally.CHUNK_ENTRIES
    chunks = [
        _read(node, "/gov/tally_chunk", state.id_bytes(pid) + i.to_bytes(4, "big"))
        for i in range(first, min(last + 1, t.chunks))
    ]
    start = offset - first * tally.CHUNK_ENTRIES
    entries = tally.decode_chunks(chunks)[start : start + limit]
    return {**views.tally_json(t), "entries": [views.entry_json(e) for e in entries]}


def _unknown(pid: int) -> ApiError:
    err = UnknownProposalError(f"no proposal {pid}")
    return ApiError(404, err.name, err.message, numeric_code=err.code, codespace=CODESPACE)


def add_gov_routes(app: FastAPI, node: NodeService, responses: dict[int | str, Any]) -> None:
    statuses = "|".join(state.STATUS_NAMES.values())

    @app.get("/v1/gov/proposals", responses=responses, tags=["gov"])
    async def proposals(
        status: str | None = Query(None, pattern=f"^({statuses})$"),
        after: int = Query(0, ge=0, description="list ids above this one"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Proposals by id, optionally of one status (deposit, voting, passed, ...)."""
        return await run_in_threadpool(list_proposals, node, status, after, limit)

    @app.get("/v1/gov/proposals/{pid}", responses=responses, tags=["gov"])
    async def proposal(pid: int) -> dict[str, Any]:
        """One proposal, with its tally once voting has ended."""
        return await run_in_threadpool(get_proposal, node, pid)

    @app.get("/v1/gov/proposals/{pid}/tally", responses=responses, tags=["gov"])
    async def proposal_tally(
        pid: int,
        offset: int = Query(0, ge=0),
        limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """A proposal's tally: per-option totals, the list's commitment, and entries of the list
        it counted (voter, own or inherited, weight, options, delegations)."""
        return await run_in_threadpool(get_tally, node, pid, offset, limit)
