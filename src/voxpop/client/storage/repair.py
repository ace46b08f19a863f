"""Repair: when an object's live shards fall below k + margin, read any k shards that verify,
rebuild byte-exactly the lost ones no node gave back, move them to new providers with
storage/Replace, upload them and wait for the Confirms (docs/operations/data.md, "Repair").

A placement is lost when the chain marks it `repair` (its node missed a challenge on it), when
its provider left (`gone`), or when it stayed `pending` from placed_at + confirm_blocks on (the
chain's rule for Replace).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voxpop.client.storage import progress as phases
from voxpop.client.storage.chainview import DealView
from voxpop.client.storage.download import fetch_shards
from voxpop.client.storage.errors import DataError, UploadError, check_committed
from voxpop.client.storage.progress import Progress, quiet
from voxpop.client.storage.selection import choose_providers
from voxpop.crypto import erasure
from voxpop.crypto.merkle import merkle_root

if TYPE_CHECKING:
    from voxpop.client.storage.pipeline import DataVault

# Repair when fewer than k + margin shards are live: one spare shard may go before the owner pays
# for a repair (a lazy repair, as Storj's repair threshold), two may not
DEFAULT_REPAIR_MARGIN = 1
REPLACE_GAS = 300_000
CONFIRM_TIMEOUT = 60.0  # for the new nodes' Confirms, as a put waits for its own


@dataclass
class RepairResult:
    object_id: bytes
    live: int
    repaired: dict[int, bytes] = field(default_factory=dict)  # shard index -> new provider
    skipped: str = ""  # why nothing was done (healthy, ...)


def lost_placements(deal: DealView, confirm_blocks: int) -> list[int]:
    """Shards to place again: marked for repair, on a provider that left, or pending past
    the chain's confirm window."""
    return [
        p.index
        for p in deal.placements
        if p.status in ("repair", "gone")
        or (p.status == "pending" and deal.height >= p.since + confirm_blocks)
    ]


def repair_objects(
    vault: DataVault,
    object_id: bytes | None = None,
    *,
    margin: int = DEFAULT_REPAIR_MARGIN,
    force: bool = False,
    progress: Progress = quiet,
    log: Callable[[str], None] | None = None,
) -> list[RepairResult]:
    """Repair one object, or every object of the owner, whose live shards are fewer than
    k + margin (with `force`, any lost shard). Raises per object only when `object_id` is
    given; for a sweep, an object that cannot be repaired now is reported in its result."""
    ids = [object_id] if object_id is not None else vault.object_ids()
    out = []
    for oid in ids:
        try:
            out.append(repair_one(vault, oid, margin=margin, force=force, progress=progress))
        except DataError as exc:
            if object_id is not None:
                raise
            out.append(RepairResult(oid, -1, skipped=f"{exc.code}: {exc.message}"))
            if log is not None:
                log(f"{oid.hex()}: {exc.message}")
    return out


def repair_one(
    vault: DataVault, object_id: bytes, *, margin: int, force: bool, progress: Progress = quiet
) -> RepairResult:
    """Repair one object if it needs it (see repair_objects). Raises DataError."""
    endpoints = vault.endpoints()
    deal = vault.deal(object_id, endpoints)
    live = len(deal.live())
    lost = lost_placements(deal, vault.params().confirm_blocks)
    if not lost:
        return RepairResult(object_id, live, skipped="every shard is placed")
    if not force and live >= deal.k + margin:
        return RepairResult(
            object_id, live, skipped=f"{live} live shards >= k + margin ({deal.k + margin})"
        )
    header = vault.fetch_header(deal, endpoints)
    # Any k shards that verify will do, a placement marked for repair included (its node
    # may only have been late with a proof): what is read back need not be rebuilt
    have = fetch_shards(vault.nodes, deal, endpoints).shards
    unread = [i for i in lost if i not in have]
    try:
        rebuilt = erasure.rebuild(have, unread, deal.k, deal.n) if unread else {}
    except erasure.ErasureError as exc:
        raise DataError(f"shards of {object_id.hex()} do not rebuild: {exc}") from None
    shards = {i: have[i] if i in have else rebuilt[i] for i in lost}
    # Verify each shard is byte-exact: its root must be the one the chain holds
    for i, shard in shards.items():
        if merkle_root(shard, deal.leaf_size) != deal.placements[i].root:
            raise DataError(f"shard {i} of {object_id.hex()} rebuilt to other bytes")
    # The shards nobody could read first: if fewer new providers are free than shards to
    # move, those are the ones to move now
    lost = sorted(lost, key=lambda i: (i in have, i))
    current = {p.provider for p in deal.placements if p.status != "gone"}
    chosen = choose_providers(
        vault.providers(), len(lost), deal.shard_size, exclude=current, at_least=1
    )
    lost = lost[: len(chosen)]
    msgs = [
        (
            "storage/Replace",
            {
                "owner": vault.owner,
                "object_id": object_id,
                "shard_index": i,
                "provider": p.address,
            },
        )
        for i, p in zip(lost, chosen, strict=True)
    ]
    progress(phases.COMMIT, 0, 1)
    result = vault.vox.execute(
        vault.account, msgs, gas_limit=REPLACE_GAS * len(msgs), mode="commit"
    )
    check_committed(result, "storage/Replace")
    progress(phases.COMMIT, 1, 1)
    roots = [p.root for p in deal.placements]
    failed = vault.upload(object_id, header, {i: shards[i] for i in lost}, roots, chosen, progress)
    if failed:
        raise UploadError(f"repair of {object_id.hex()}: uploads failed: {failed}")
    vault.wait_confirmed(object_id, lost, CONFIRM_TIMEOUT, progress)
    return RepairResult(
        object_id, live, repaired={i: p.address for i, p in zip(lost, chosen, strict=True)}
    )
