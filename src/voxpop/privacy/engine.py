"""The reencrypt engine: the provider gateway's engine interface serving `POST /v1/reencrypt`, so
a grantee pays per re-encryption through its payment channel exactly as for any paid call.

`prepare` (before the voucher is looked at: a bad request costs nothing) checks the signed
access request against the grant as last read: held here, asked by its grantee, for an object it
covers, fresh in time. `run` (paid) reads the grant again if its record is over a block old, then
refuses an ended grant or one without accesses left, re-encrypts the kit's capsule with this
node's fragment, signs the attestation and queues it (journaled) for the consent/Record txs.

Answer (CBOR): `{"cfrag", "attestation", "kit", "salt"}`; docs/protocol/consent.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from voxpop.crypto import consent
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.book import GrantBook, grant_ended
from voxpop.privacy.grants import HeldGrant
from voxpop.privacy.recorder import Recorder
from voxpop.provider.engines import UNIT_CALL, EngineError, Prepared
from voxpop.storage.chain import ChainUnavailableError

# How far a request's signed time may be from this node's clock (the chain's request skew)
REQUEST_SKEW = 300


class RefusedError(EngineError):
    """An access refused: HTTP `status`, stable `code` (nothing is charged)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class _Ask:
    request: consent.AccessRequest
    blob: bytes
    held: HeldGrant
    kit: bytes


class ReencryptEngine:
    kind = "reencrypt"
    unit = UNIT_CALL
    max_body = consent.MAX_REQUEST_SIZE

    def __init__(
        self,
        book: GrantBook,
        recorder: Recorder,
        account: PrivateKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = book
        self.recorder = recorder
        self.account = account
        self.clock = clock
        self.served = 0
        self.refused: dict[str, int] = {}

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        try:
            return Prepared(1, self._check(body))
        except RefusedError as exc:
            self.refused[exc.code] = self.refused.get(exc.code, 0) + 1
            raise

    def _check(self, body: bytes) -> _Ask:
        try:
            request, _ = consent.open_access_request(body)
        except consent.ConsentCryptoError as exc:
            status = 401 if exc.code == "bad_signature" else 400
            raise RefusedError(status, exc.code, str(exc)) from None
        held = self.book.held.get(request.grant)
        # Verify this node holds the grant
        if held is None:
            raise RefusedError(404, "unknown_grant", "this node holds no such grant")
        # Verify the grant's grantee signed the request
        if request.grantee != held.grant.grantee:
            raise RefusedError(403, "not_grantee", "the request is not signed by the grantee")
        # Verify the grant covers the object (a committed set: through the request's proof)
        kit = held.kits.get(request.object)
        if kit is None:
            raise RefusedError(403, "object_not_granted", "the grant does not cover the object")
        grant = held.grant
        if grant.objects_root:
            proof = request.proof
            if (
                proof is None
                or proof.capsule_hash != held.capsule_hashes[request.object]
                or not proof.verify(grant.objects_root, grant.object_count, request.object)
            ):
                raise RefusedError(
                    403, "object_not_granted", "the request's proof does not place the object"
                )
        # Verify the request is fresh (an old one replayed is not a new access)
        if abs(int(self.clock()) - request.time) > REQUEST_SKEW:
            raise RefusedError(400, "stale_request", f"signed over {REQUEST_SKEW} s from now")
        return _Ask(request, body, held, kit)

    async def run(self, prepared: Prepared) -> bytes:
        try:
            return await self._answer(prepared.payload)
        except RefusedError as exc:
            self.refused[exc.code] = self.refused.get(exc.code, 0) + 1
            raise

    async def _answer(self, ask: _Ask) -> bytes:
        request = ask.request
        try:
            held = await self.book.fresh(ask.held)
        except ChainUnavailableError as exc:
            raise RefusedError(503, "node_unreachable", f"cannot read the grant: {exc}") from None
        grant = held.grant
        # Verify the grant is live now (not revoked, not expired by the chain or the clock)
        ended = grant_ended(grant, int(self.clock()))
        if ended or request.grant not in self.book.held:
            raise RefusedError(410, ended or "grant_expired", "the grant no longer serves")
        cached = held.answers.get(request.request_id)
        if cached is not None:
            return cached  # the same request again: the same answer, no second access
        # Answered before a restart (its record journaled, its answer not kept): answered
        # again, and not a second access
        repeat = request.request_id in held.unrecorded
        # Verify the answer can be recorded in time (every access served is on the record)
        if not repeat and self.recorder.full:
            raise RefusedError(503, "busy", "too many answers wait for their record; retry")
        # Verify accesses are left, counting those answered here and not yet on chain (records
        # that landed after the last read are read again first: they count once, not twice)
        if not repeat and grant.accesses + len(held.unrecorded) >= grant.max_accesses:
            if any(landed > 0 for landed in held.unrecorded.values()):
                try:
                    await self.book.refresh(held.grant_id)
                except ChainUnavailableError as exc:
                    raise RefusedError(
                        503, "node_unreachable", f"cannot read the grant: {exc}"
                    ) from None
                if request.grant not in self.book.held:
                    raise RefusedError(410, "grant_expired", "the grant no longer serves")
                grant = held.grant
            if grant.accesses + len(held.unrecorded) >= grant.max_accesses:
                raise RefusedError(403, "no_accesses_left", "the grant's accesses are used up")
        cfrag = consent.reencrypt_capsule(held.capsules[request.object], held.kfrag)
        attestation = consent.sign_answer(
            self.account, request.grant, request.object, request.request_id, cfrag, held.height
        )
        answer: Any = {
            "cfrag": cfrag,
            "attestation": attestation,
            "kit": ask.kit,
            "salt": held.salts.get(request.object, b""),
        }
        body = cbor2.dumps(answer, canonical=True)
        if not repeat:
            # Journaled before it is sent: a node killed now still records it after a restart
            try:
                self.recorder.add(
                    attestation, ask.blob, request.grant, request.request_id, held.height
                )
            except OSError as exc:
                raise RefusedError(
                    503, "storage_unavailable", f"cannot journal the answer: {exc}"
                ) from None
            held.unrecorded[request.request_id] = 0
        held.remember(request.request_id, body)
        self.served += 1
        return body

    def close(self) -> None:
        return None
