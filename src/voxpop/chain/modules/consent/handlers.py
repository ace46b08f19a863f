"""Consent transitions: grant, revoke, record accesses, report misuse.

A failing handler's writes are all dropped (the app runs each message on a branch): a Record
with one bad record among many records nothing, so a node batches only answers it gave.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    ConsentAlreadyRecordedError,
    ConsentAnswerHeightError,
    ConsentBadAnswerError,
    ConsentBadNodeError,
    ConsentBadObjectsError,
    ConsentBadRequestError,
    ConsentBadThresholdError,
    ConsentDuplicateNodeError,
    ConsentExpiryPastError,
    ConsentGrantExistsError,
    ConsentGrantNotLiveError,
    ConsentMisuseReportedError,
    ConsentNodeNotInGrantError,
    ConsentNoMisuseError,
    ConsentNotOwnerError,
    ConsentObjectNotCoveredError,
    ConsentObjectNotOwnedError,
    ConsentTooManyRecordsError,
    ConsentUnknownPurposeError,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.consent import state
from voxpop.chain.modules.consent.messages import MsgGrant, MsgRecord, MsgReportMisuse, MsgRevoke
from voxpop.chain.modules.services import state as services
from voxpop.chain.modules.storage import state as storage
from voxpop.crypto.consent import (
    AccessRequest,
    Answer,
    ConsentCryptoError,
    open_access_request,
    open_answer,
)

NODE_KIND = "reencrypt"  # the services kind a privacy node registers


def process_grant(ctx: Context, msg: MsgGrant) -> None:
    params = state.read_params(ctx)
    # Verify the grant id is new (grants are kept, so an id is never reused)
    if state.get_grant(ctx, msg.grant_id) is not None:
        raise ConsentGrantExistsError(f"access grant {msg.grant_id.hex()} exists")
    # Verify the purpose is in the chain's vocabulary, and the expiry is ahead
    if msg.purpose not in params.purposes:
        raise ConsentUnknownPurposeError("the purpose is not one of the chain's purposes")
    if msg.expiry <= ctx.block.time_unix:
        raise ConsentExpiryPastError(f"expiry {msg.expiry} is not after the block time")
    # Verify n is within the params (1 <= m <= n was checked with the message)
    if len(msg.nodes) > params.max_nodes:
        raise ConsentBadThresholdError(f"a grant names at most {params.max_nodes} nodes")
    # Verify each node is distinct and a staked, active reencrypt provider
    if len(set(msg.nodes)) != len(msg.nodes):
        raise ConsentDuplicateNodeError("a grant names each node once")
    for i, node in enumerate(msg.nodes):
        offer = services.get_offer(ctx, node, NODE_KIND)
        if offer is None or offer.leaving_at or offer.stake < params.min_node_stake:
            raise ConsentBadNodeError(f"nodes[{i}] has no active {NODE_KIND} offer staked enough")
    # Verify the listed objects: within the params, distinct, each a live deal of the owner
    if len(msg.objects) > params.max_objects_listed:
        raise ConsentBadObjectsError(
            f"a grant lists at most {params.max_objects_listed} objects; commit to a root instead"
        )
    if len({o[0] for o in msg.objects}) != len(msg.objects):
        raise ConsentBadObjectsError("a grant lists each object once")
    for i, (object_id, _, _) in enumerate(msg.objects):
        deal = storage.get_deal(ctx, object_id)
        if deal is None or deal.owner != msg.owner:
            raise ConsentObjectNotOwnedError(f"objects[{i}] is not a live deal of the owner")
    grant = state.Grant(
        owner=msg.owner,
        grantee=msg.grantee,
        purpose=msg.purpose,
        expiry=msg.expiry,
        max_accesses=msg.max_accesses,
        objects=msg.objects,
        objects_root=msg.objects_root,
        object_count=msg.object_count,
        nodes=msg.nodes,
        threshold=msg.threshold,
        delegating_pk=msg.delegating_pk,
        verifying_pk=msg.verifying_pk,
        offer_id=msg.offer_id,
        created_at=ctx.block.height,
    )
    state.create_grant(ctx, msg.grant_id, grant)
    ctx.emit(
        "consent_grant",
        grant_id=msg.grant_id.hex(),
        owner=addr_text(msg.owner),
        grantee=addr_text(msg.grantee),
        purpose=msg.purpose,
        expiry=str(msg.expiry),
        objects=str(msg.object_count),
    )


def process_revoke(ctx: Context, msg: MsgRevoke) -> None:
    grant = state.require_grant(ctx, msg.grant_id)
    # Verify the signer owns the grant, and it has not ended already
    if grant.owner != msg.owner:
        raise ConsentNotOwnerError("only the grant's owner can revoke it")
    if grant.ended_at:
        raise ConsentGrantNotLiveError(f"the grant ended at height {grant.ended_at}")
    state.revoke(ctx, msg.grant_id, grant)
    ctx.emit("consent_revoke", grant_id=msg.grant_id.hex(), height=str(ctx.block.height))


def process_record(ctx: Context, msg: MsgRecord) -> None:
    params = state.read_params(ctx)
    # Verify the batch is within the per-tx bound
    if len(msg.records) > params.max_records_per_tx:
        raise ConsentTooManyRecordsError(
            f"{len(msg.records)} records; a Record carries at most {params.max_records_per_tx}"
        )
    height = ctx.block.height
    # The records' access list entries, per grant, listed once after the loop: one pass over a
    # grant's list per Record, not one per record (the list is the grant's audit trail)
    listed: dict[bytes, list[bytes]] = {}
    for i, (answer_blob, request_blob) in enumerate(msg.records):
        where = f"records[{i}]"
        # Gas first: a huge batch runs out of gas instead of verifying signatures for free
        ctx.gas.consume(params.gas_per_record, "access record signatures")
        answer, request = open_evidence(answer_blob, request_blob, where)
        # Verify the node recording is the node that answered
        if answer.node != msg.node:
            raise ConsentNodeNotInGrantError(f"{where}: the answer is another node's")
        grant = state.require_grant(ctx, answer.grant)
        check_answer_for(grant, answer, request, where)
        # Verify the answer is recent, and was given while the grant was live
        if not height - params.record_window_blocks <= answer.height < height:
            raise ConsentAnswerHeightError(
                f"{where}: height {answer.height} is outside the {params.record_window_blocks}"
                f" blocks before {height}"
            )
        if not grant.is_live_at(answer.height):
            raise ConsentGrantNotLiveError(f"{where}: the grant ended at {grant.ended_at}")
        # Verify the grant had accesses left at that height, unless this request already counted
        if is_new_access_after_exhaustion(ctx, grant, answer):
            raise ConsentGrantNotLiveError(f"{where}: no accesses left at {answer.height}")
        record_answer(ctx, grant, answer, request, where, listed=False)
        listed.setdefault(answer.grant, []).append(answer.request_id)
    for grant_id, request_ids in listed.items():
        state.list_accesses(ctx, grant_id, request_ids)


def is_new_access_after_exhaustion(ctx: Context, grant: state.Grant, answer: Answer) -> bool:
    """True if the answer's height showed no accesses left and its request had not counted by
    then (a request counted before may be answered again: it is the same access)."""
    if not grant.is_exhausted_at(answer.height):
        return False
    access = state.get_access(ctx, answer.grant, answer.request_id)
    return access is None or not access.counted_at or access.counted_at > answer.height


def open_evidence(
    answer_blob: bytes, request_blob: bytes, where: str
) -> tuple[Answer, AccessRequest]:
    """The answer and the request it answers, both signatures verified, matching each other.
    Raises ConsentBadAnswerError, ConsentBadRequestError."""
    # Verify the node's signature (its key is in the answer; its address is the key's)
    try:
        answer = open_answer(answer_blob)
    except ConsentCryptoError as exc:
        raise ConsentBadAnswerError(f"{where}: {exc}") from None
    except Exception as exc:  # a decoder bug must not halt the chain: it is a bad answer
        raise ConsentBadAnswerError(f"{where}: malformed ({type(exc).__name__})") from None
    # Verify the grantee's signature
    try:
        request, _ = open_access_request(request_blob)
    except ConsentCryptoError as exc:
        raise ConsentBadRequestError(f"{where}: {exc}") from None
    except Exception as exc:  # a decoder bug must not halt the chain: it is a bad request
        raise ConsentBadRequestError(f"{where}: malformed ({type(exc).__name__})") from None
    # Verify the answer names this request, its grant and object
    if (answer.request_id, answer.grant, answer.object) != (
        request.request_id,
        request.grant,
        request.object,
    ):
        raise ConsentBadAnswerError(f"{where}: the answer is not for this request")
    return answer, request


def check_answer_for(
    grant: state.Grant, answer: Answer, request: AccessRequest, where: str
) -> None:
    """The request is the grantee's, the node one of the grant's, the object covered.
    Raises ConsentBadRequestError, ConsentNodeNotInGrantError, ConsentObjectNotCoveredError."""
    # Verify the grant's grantee signed the request
    if request.grantee != grant.grantee:
        raise ConsentBadRequestError(f"{where}: the request is not signed by the grantee")
    # Verify the node is one of the grant's
    if answer.node not in grant.nodes:
        raise ConsentNodeNotInGrantError(f"{where}: the node is not one of the grant's")
    # Verify the object is the grant's: listed, or proven in the committed set
    if grant.objects_root:
        proof = request.proof
        if proof is None or not proof.verify(
            grant.objects_root, grant.object_count, request.object
        ):
            raise ConsentObjectNotCoveredError(f"{where}: no valid proof the object is granted")
    elif not grant.covers_listed(request.object):
        raise ConsentObjectNotCoveredError(f"{where}: the object is not in the grant")


def record_answer(
    ctx: Context,
    grant: state.Grant,
    answer: Answer,
    request: AccessRequest,
    where: str,
    *,
    listed: bool = True,
) -> None:
    """Add the node to the request's access record; count the access at its m-th node
    (`listed=False`: the caller lists the record under its grant, state.list_accesses)."""
    access = state.get_access(ctx, answer.grant, answer.request_id)
    if access is None:
        access = state.Access(request.object, request.time, (), answer.height)
    # Verify this node's answer is not on record yet (a request counts once per node)
    if answer.node in access.nodes:
        raise ConsentAlreadyRecordedError(f"{where}: this answer is on record")
    access = replace(access, nodes=(*access.nodes, answer.node))
    counted = not access.counted_at and len(access.nodes) >= grant.threshold
    if counted:
        access = replace(access, counted_at=ctx.block.height)
        grant = state.count_access(ctx, answer.grant, grant, request.object)
    state.set_access(ctx, answer.grant, answer.request_id, access, listed=listed)
    ctx.emit(
        "consent_access",
        grant_id=answer.grant.hex(),
        request_id=answer.request_id.hex(),
        node=addr_text(answer.node),
        counted="true" if counted else "false",
        accesses=str(grant.accesses),
    )


def is_misuse(
    ctx: Context, grant: state.Grant, answer: Answer, request: AccessRequest, skew: int
) -> bool:
    """True if the node could not honestly have given this answer: the grant had ended at the
    answer's height, or had no accesses left for a new request, or the height is not yet past,
    or the request is dated later than the grant's end plus twice the skew a node allows (so
    the claimed height lies)."""
    if not grant.is_live_at(answer.height) or answer.height >= ctx.block.height:
        return True
    if is_new_access_after_exhaustion(ctx, grant, answer):
        return True
    ends = [grant.expiry]
    if grant.revoked_at:
        ends.append(grant.revoked_time)
    # Twice the skew: a node accepts requests dated up to the skew ahead of its clock, and its
    # clock may run up to the skew ahead of the block time it checked; beyond both, it lies
    return request.time >= min(ends) + 2 * skew


def process_report_misuse(ctx: Context, msg: MsgReportMisuse) -> None:
    params = state.read_params(ctx)
    # Gas first, as for a record: two signatures are verified
    ctx.gas.consume(params.gas_per_record, "misuse evidence signatures")
    answer, request = open_evidence(msg.answer, msg.request, "answer")
    grant = state.require_grant(ctx, answer.grant)
    check_answer_for(grant, answer, request, "answer")
    # Verify the answer is misuse, and was not reported before
    if not is_misuse(ctx, grant, answer, request, params.request_skew_seconds):
        raise ConsentNoMisuseError("the answer was given while the grant was live")
    if state.is_reported(ctx, answer.grant, answer.request_id, answer.node):
        raise ConsentMisuseReportedError("this answer was already reported")
    state.set_reported(ctx, answer.grant, answer.request_id, answer.node)
    slashed = services.slash(
        ctx,
        answer.node,
        NODE_KIND,
        params.slash_fraction_bps,
        bounty_to=msg.reporter,
        bounty_bps=params.bounty_bps,
    )
    ctx.emit(
        "consent_misuse",
        grant_id=answer.grant.hex(),
        request_id=answer.request_id.hex(),
        node=addr_text(answer.node),
        reporter=addr_text(msg.reporter),
        slashed=str(slashed),
        bounty=str(slashed * params.bounty_bps // state.BPS),
    )
