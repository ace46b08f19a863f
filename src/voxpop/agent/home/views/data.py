"""The data page's data: the owner's stored objects (where each piece is held and whether enough
are live and proven), the access grants (expiry, uses, revoke), what was sold and earned, and the
sharing policy as a form.

`build_*` are pure (unit-tested); `read_data` gathers their inputs from the chain (deals, storage
providers, grants, sales) and from the owner's data home (the policy file and the decisions log;
names of objects only when the owner's sealed index is open, never from the chain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxpop.agent.home.views.amounts import Amount, short_hex, vox
from voxpop.agent.home.views.errors import InputError
from voxpop.agent.home.views.wallet import format_time
from voxpop.chain.module import Msg
from voxpop.chain.modules.consent.messages import MsgRevoke
from voxpop.chain.modules.consent.state import Grant
from voxpop.client.consent.chainview import fetch_grant, grants_of_owner
from voxpop.client.consent.decisions import DecisionLog
from voxpop.client.consent.errors import PolicyError
from voxpop.client.consent.marketview import fetch_sale
from voxpop.client.consent.policy import SharingPolicy, load_policy, set_fields
from voxpop.client.errors import VoxClientError
from voxpop.client.storage.chainview import DEALS_BY_OWNER, DealView, decode_deal, fetch_providers
from voxpop.client.storage.selection import ProviderView
from voxpop.client.sync import VoxClient
from voxpop.crypto.address import encode_address

# --- stored objects -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PieceRow:
    index: int
    provider: str
    state: str  # in plain words
    missed_proofs: int  # the provider's faults on chain


@dataclass(frozen=True, slots=True)
class ObjectRow:
    object_id: str
    short_id: str
    name: str  # from the owner's index; "" when not known here
    size: int  # bytes of ciphertext
    live: int
    pieces: int
    needed: int
    health: str  # good | at risk | lost
    health_text: str
    placements: tuple[PieceRow, ...]


_PIECE_STATE = {
    "active": "held and proven",
    "pending": "being placed",
    "repair": "being repaired",
    "gone": "gone (its provider left)",
}


def health_of(live: int, needed: int, pieces: int) -> tuple[str, str]:
    """An object can be read back while `needed` of its `pieces` are live."""
    if live >= pieces:
        return "good", f"All {pieces} pieces are held and proven."
    if live >= needed + 1:
        return "good", f"{live} of {pieces} pieces are held; {needed} are enough to read it."
    if live >= needed:
        return "at risk", f"Only {live} of {pieces} pieces are held: one more loss and it is lost."
    return "lost", f"Only {live} of {pieces} pieces are held; {needed} are needed to read it."


def build_objects(
    deals: Sequence[DealView],
    providers: Mapping[bytes, ProviderView],
    names: Mapping[str, str],
) -> tuple[ObjectRow, ...]:
    """Each deal with its pieces; `names` maps object ids (hex) to the owner's file names."""
    rows = []
    for d in deals:
        live = len(d.live())
        health, text = health_of(live, d.k, d.n)
        pieces = tuple(
            PieceRow(
                index=p.index,
                provider=encode_address(p.provider),
                state=_PIECE_STATE.get(p.status, p.status),
                missed_proofs=providers[p.provider].faults if p.provider in providers else 0,
            )
            for p in d.placements
        )
        oid = d.object_id.hex()
        rows.append(
            ObjectRow(
                oid,
                short_hex(oid),
                names.get(oid, ""),
                d.size,
                live,
                d.n,
                d.k,
                health,
                text,
                pieces,
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.name == "", r.name, r.object_id)))


# --- grants and sales -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantRow:
    grant_id: str
    short_id: str
    grantee: str
    purpose: str
    objects: int
    uses: str  # "3 of 10 uses"
    expires: str
    state: str  # live | expired | revoked | used up
    can_revoke: bool
    sale: bool  # made for a market offer


def grant_state(g: Grant) -> str:
    if g.revoked_at:
        return "revoked"
    if g.expired_at:
        return "expired"
    if g.exhausted_at:
        return "used up"
    return "live"


def build_grants(grants: Sequence[tuple[bytes, Grant]]) -> tuple[GrantRow, ...]:
    """Live grants first, then the newest."""
    rows = []
    for gid, g in grants:
        state = grant_state(g)
        rows.append(
            GrantRow(
                grant_id=gid.hex(),
                short_id=short_hex(gid),
                grantee=encode_address(g.grantee),
                purpose=g.purpose,
                objects=g.object_count,
                uses=f"{g.accesses} of {g.max_accesses} uses",
                expires=format_time(g.expiry),
                state=state,
                can_revoke=state == "live",
                sale=bool(g.offer_id),
            )
        )
    created = {gid.hex(): g.created_at for gid, g in grants}
    return tuple(sorted(rows, key=lambda r: (r.state != "live", -created[r.grant_id])))


@dataclass(frozen=True, slots=True)
class SaleRow:
    offer: str
    buyer: str
    price: Amount  # per object
    objects: int
    held: int
    paid: int
    disputed: int
    earned: Amount


def build_sales(
    records: Sequence[Mapping[str, Any]], states: Mapping[tuple[str, str], str]
) -> tuple[tuple[SaleRow, ...], Amount]:
    """The sales the decisions log recorded (grants made for an offer), each object's payment
    state from `states` ((offer hex, object hex) -> held | paid | disputed); and the earnings
    (what was paid)."""
    rows = []
    for record in records:
        offer = str(record.get("offer") or "")
        if not offer:
            continue
        objects = [str(o) for o in record.get("objects") or []]
        counts = {"held": 0, "paid": 0, "disputed": 0}
        for o in objects:
            status = states.get((offer, o))
            if status in counts:
                counts[status] += 1
        price = int(str(record.get("price", 0)))
        rows.append(
            SaleRow(
                offer=short_hex(offer),
                buyer=str(record.get("grantee", "")),
                price=vox(price),
                objects=len(objects),
                held=counts["held"],
                paid=counts["paid"],
                disputed=counts["disputed"],
                earned=vox(price * counts["paid"]),
            )
        )
    return tuple(rows), vox(sum(r.earned.uvox for r in rows))


# --- the policy -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyField:
    name: str
    label: str
    value: str
    help: str
    kind: str  # text | number | checkbox


POLICY_FORM: tuple[tuple[str, str, str, str], ...] = (
    ("auto", "Answer offers on my behalf", "checkbox", "Off: nothing is shared without you."),
    ("kinds", "Kinds of data I share", "text", "e.g. voice, text (comma separated)"),
    ("never", "Kinds I never share", "text", "e.g. location"),
    ("purposes", "Purposes I accept", "text", "e.g. research, training"),
    ("languages", "Languages", "text", "e.g. en, de"),
    ("min_price", "Lowest price per item (uvox)", "number", "Offers paying less are declined."),
    (
        "max_access_seconds",
        "Longest access, in seconds",
        "number",
        "86400 is a day; 2592000 is 30.",
    ),
    ("max_objects_per_period", "Most items per period", "number", "0: no limit."),
    ("period_seconds", "Period of that limit, in seconds", "number", "86400 is a day."),
    ("allow_buyers", "Only these buyers", "text", "Addresses, comma separated; empty: anyone."),
    ("deny_buyers", "Never these buyers", "text", "Addresses, comma separated."),
)


def build_policy_form(policy: SharingPolicy) -> tuple[PolicyField, ...]:
    doc = policy.to_doc()
    out = []
    for name, label, kind, help_text in POLICY_FORM:
        value = doc[name]
        if isinstance(value, list):
            text = ", ".join(value)
        elif isinstance(value, bool):
            text = "on" if value else ""
        else:
            text = str(value)
        out.append(PolicyField(name, label, text, help_text, kind))
    return tuple(out)


def policy_from_form(policy: SharingPolicy, form: Mapping[str, str]) -> SharingPolicy:
    """`policy` changed as the form says (an unticked checkbox is absent: off; a text field
    that is absent keeps its value). Raises InputError."""
    changes = {}
    for name, _label, kind, _help in POLICY_FORM:
        if kind == "checkbox":
            changes[name] = "true" if form.get(name) else "false"
        elif name in form:
            changes[name] = str(form[name]).strip()
    try:
        return set_fields(policy, changes)
    except PolicyError as exc:
        raise InputError("invalid_policy", f"The sharing policy was not saved: {exc}") from None


def revoke_msgs(owner: bytes, grant_id_text: str, grants: Mapping[bytes, Grant]) -> list[Msg]:
    """The owner's consent/Revoke for one of its live grants. Raises InputError."""
    try:
        grant_id = bytes.fromhex(grant_id_text.strip())
    except ValueError:
        raise InputError("unknown_grant", "That grant is not one of yours.") from None
    grant = grants.get(grant_id)
    if grant is None or grant.owner != owner:
        raise InputError("unknown_grant", "That grant is not one of yours.")
    if grant_state(grant) != "live":
        raise InputError("grant_not_live", f"That grant has already ended ({grant_state(grant)}).")
    return [MsgRevoke(owner=owner, grant_id=grant_id)]


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataView:
    objects: tuple[ObjectRow, ...]
    names_known: bool
    grants: tuple[GrantRow, ...]
    sales: tuple[SaleRow, ...]
    earned: Amount
    policy: tuple[PolicyField, ...]
    storage_available: bool


def read_deals(client: VoxClient, owner: bytes) -> tuple[list[DealView], dict[bytes, ProviderView]]:
    """The owner's deals (the list proven complete) and the registered storage providers."""
    providers = {p.address: p for p in fetch_providers(client)}
    listed = client.query_list(DEALS_BY_OWNER, owner)
    deals = [decode_deal(item.id, item.value, listed.height, providers) for item in listed.items]
    return deals, providers


def read_grant(client: VoxClient, grant_id: bytes) -> Grant | None:
    return fetch_grant(client, grant_id)


def read_data(
    client: VoxClient, owner: bytes, data_home: Path | None, names: Mapping[str, str] | None
) -> DataView:
    """`data_home`: where the owner's policy and decisions log are (None: none here); `names`:
    the owner's index, when it is open (None: names are not shown)."""
    try:
        deals, providers = read_deals(client, owner)
        storage = True
    except VoxClientError:  # a chain without the storage module
        deals, providers, storage = [], {}, False
    grants = grants_of_owner(client, owner)
    records: list[dict[str, Any]] = []
    states: dict[tuple[str, str], str] = {}
    policy = SharingPolicy()
    if data_home is not None:
        policy = load_policy(data_home)
        records = list(DecisionLog(data_home).records("grant"))
        for record in records:
            offer = str(record.get("offer") or "")
            for o in record.get("objects") or []:
                if offer:
                    sale = fetch_sale(client, bytes.fromhex(offer), bytes.fromhex(str(o)))
                    if sale is not None:
                        states[(offer, str(o))] = sale.status
    sales, earned = build_sales(records, states)
    return DataView(
        objects=build_objects(deals, providers, names or {}),
        names_known=names is not None,
        grants=build_grants(grants),
        sales=sales,
        earned=earned,
        policy=build_policy_form(policy),
        storage_available=storage,
    )
