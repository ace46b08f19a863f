"""The node's book of held grants: taking a delivery, keeping each grant's chain record fresh
(proven, at most about a block old when it answers), and dropping the grants that ended.

A delivery is taken only if the proven grant exists, is live, was signed for by its owner and
names this node, and the fragment opens with this node's X25519 key and verifies against the
grant's delegating and verifying keys and the grantee's published Umbral key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from voxpop.chain.modules.consent.state import Grant
from voxpop.crypto import consent
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import SealedBoxError, open_sealed
from voxpop.privacy.chain import PrivacyLink, ProvenGrant
from voxpop.privacy.grants import (
    DeliveryError,
    GrantFiles,
    HeldGrant,
    check_kits,
    parse_delivery,
)
from voxpop.storage.chain import ChainUnavailableError

log = logging.getLogger("voxpop.privacy")
# A held grant's record older than this is read again before an answer (the refresh loop keeps
# the grants in use fresher than this; a grant idle for a while is read on its next request)
MAX_RECORD_AGE = 1.5
# A grant used within this many seconds is refreshed every poll; the others at each sweep
ACTIVE_SECONDS = 60.0


def grant_ended(grant: Grant, now: int) -> str:
    """Why a grant no longer serves ("" if it is live at unix time `now`)."""
    if grant.revoked_at:
        return "grant_revoked"
    if grant.expired_at or grant.expiry <= now:
        return "grant_expired"
    return ""


class GrantBook:
    def __init__(
        self,
        link: PrivacyLink,
        files: GrantFiles,
        x25519_secrets: Callable[[], list[bytes]],
        account: PrivateKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.files = files
        self.x25519_secrets = x25519_secrets
        self.address = account.public_key.address
        self.clock = clock
        self.held: dict[bytes, HeldGrant] = {}
        self.deleted = 0
        self._refreshing: dict[bytes, asyncio.Future[None]] = {}

    # --- delivery --------------------------------------------------------------------------------

    async def deliver(self, grant_id: bytes, body: bytes, signer: bytes) -> HeldGrant:
        """Take an owner's delivery (signed by `signer`). Raises DeliveryError."""
        delivery = parse_delivery(body)
        proven = await self._read(grant_id)
        grant = proven.grant
        # Verify the grant exists, is the signer's, names this node and is live
        if grant is None:
            raise DeliveryError(404, "unknown_grant", "no such grant on chain")
        if grant.owner != signer:
            raise DeliveryError(403, "not_owner", "only the grant's owner delivers its fragments")
        if self.address not in grant.nodes:
            raise DeliveryError(403, "not_named", "the grant does not name this node")
        ended = grant_ended(grant, int(self.clock()))
        if ended:
            raise DeliveryError(410, ended, "the grant no longer serves")
        hashes = check_kits(delivery, grant)
        held = await self._open(grant_id, delivery.sealed_kfrag, delivery.kits, hashes, proven)
        try:
            self.files.write(grant_id, body)
        except OSError as exc:
            raise DeliveryError(503, "storage_unavailable", f"cannot keep it: {exc}") from None
        self.held[grant_id] = held
        return held

    async def _open(
        self,
        grant_id: bytes,
        sealed: bytes,
        kits: tuple[tuple[bytes, bytes, bytes], ...],
        hashes: dict[bytes, bytes],
        proven: ProvenGrant,
    ) -> HeldGrant:
        grant = proven.grant
        assert grant is not None
        _, _, grantee_key = await self._keys(grant.grantee)
        # Verify the grantee publishes an Umbral key: the fragment re-encrypts to it
        if grantee_key is None:
            raise DeliveryError(409, "no_grantee_key", "the grantee publishes no Umbral key")
        raw = None
        # Verify the fragment opens with one of this node's keys (current first, then older)
        for secret in self.x25519_secrets():
            try:
                raw = open_sealed(secret, sealed)
                break
            except SealedBoxError:
                continue
        if raw is None:
            raise DeliveryError(422, "bad_kfrag", "the fragment is not sealed to this node's key")
        # Verify it is a fragment of this grant, to its grantee
        try:
            kfrag = consent.verify_kfrag(raw, grant.delegating_pk, grantee_key, grant.verifying_pk)
        except consent.ConsentCryptoError as exc:
            raise DeliveryError(422, "bad_kfrag", str(exc)) from None
        return HeldGrant(
            grant_id,
            kfrag,
            {object_id: kit for object_id, kit, _ in kits},
            {object_id: salt for object_id, _, salt in kits},
            hashes,
            {object_id: consent.parse_kit(kit).capsule for object_id, kit, _ in kits},
            grant,
            proven.height,
            time.monotonic(),
        )

    async def load(self) -> None:
        """The deliveries kept on disk, each checked again against the chain (an ended grant's
        file is deleted)."""
        for grant_id, body in self.files.all():
            try:
                delivery = parse_delivery(body)
                proven = await self._read(grant_id)
                grant = proven.grant
                if grant is None or grant_ended(grant, int(self.clock())):
                    self.drop(grant_id)
                    continue
                hashes = check_kits(delivery, grant)
                held = await self._open(
                    grant_id, delivery.sealed_kfrag, delivery.kits, hashes, proven
                )
            except DeliveryError as exc:
                log.warning("dropping grant %s: %s", grant_id.hex(), exc)
                self.drop(grant_id)
                continue
            self.held[grant_id] = held

    # --- freshness -------------------------------------------------------------------------------

    async def fresh(self, held: HeldGrant) -> HeldGrant:
        """`held` with a grant record at most MAX_RECORD_AGE old (one read shared by the
        requests waiting for it). Raises ChainUnavailableError."""
        held.used_at = time.monotonic()
        if held.used_at - held.read_at > MAX_RECORD_AGE:
            await self.refresh(held.grant_id)
        return held

    async def refresh(self, grant_id: bytes) -> None:
        pending = self._refreshing.get(grant_id)
        if pending is not None:
            await pending
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._refreshing[grant_id] = future
        try:
            proven = await self.link.proven_grant(grant_id)
            held = self.held.get(grant_id)
            if held is not None and proven.grant is not None and proven.height >= held.height:
                held.update(proven.grant, proven.height, time.monotonic())
            if proven.grant is None or grant_ended(proven.grant, int(self.clock())):
                self.drop(grant_id)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a refresh nobody waited for is not an error
            raise
        finally:
            del self._refreshing[grant_id]

    async def refresh_active(self) -> None:
        """Read again every grant used lately (each poll, about once a block)."""
        now = time.monotonic()
        for grant_id, held in list(self.held.items()):
            if now - held.used_at < ACTIVE_SECONDS:
                await self.refresh(grant_id)

    async def sweep(self) -> None:
        """Read every held grant again; drop the ended ones."""
        for grant_id in list(self.held):
            await self.refresh(grant_id)

    def drop(self, grant_id: bytes) -> None:
        """Forget a grant and delete its fragment (ended: nothing is served from it again)."""
        if self.held.pop(grant_id, None) is not None:
            self.deleted += 1
        self.files.delete(grant_id)

    # --- reads -----------------------------------------------------------------------------------

    async def _read(self, grant_id: bytes) -> ProvenGrant:
        try:
            return await self.link.proven_grant(grant_id)
        except ChainUnavailableError as exc:
            raise DeliveryError(503, "node_unreachable", f"cannot read the grant: {exc}") from None

    async def _keys(self, address: bytes) -> tuple[int, bytes | None, bytes | None]:
        try:
            return await self.link.keys(address)
        except ChainUnavailableError as exc:
            raise DeliveryError(503, "node_unreachable", f"cannot read keys: {exc}") from None
