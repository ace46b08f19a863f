"""The data page's view functions: objects and their health, grants, sales and earnings, the
sharing policy form, and the revoke button's input."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from voxpop.agent.home.views.amounts import Amount
from voxpop.agent.home.views.data import (
    build_grants,
    build_objects,
    build_policy_form,
    build_sales,
    health_of,
    policy_from_form,
    revoke_msgs,
)
from voxpop.agent.home.views.errors import InputError
from voxpop.chain.modules.consent.messages import MsgRevoke
from voxpop.chain.modules.consent.state import Grant
from voxpop.client.consent.policy import SharingPolicy
from voxpop.client.storage.chainview import DealView, Placement
from voxpop.client.storage.selection import ProviderView
from voxpop.crypto.address import encode_address

OWNER = bytes([1]) * 20
BUYER = bytes([2]) * 20
PROV = [bytes([10 + i]) * 20 for i in range(4)]


def test_health_in_words() -> None:
    assert health_of(6, 3, 6) == ("good", "All 6 pieces are held and proven.")
    assert health_of(4, 3, 6)[0] == "good"
    assert health_of(3, 3, 6)[0] == "at risk"
    assert health_of(2, 3, 6) == ("lost", "Only 2 of 6 pieces are held; 3 are needed to read it.")


def test_objects_show_each_piece_and_the_providers_missed_proofs() -> None:
    statuses = ["active", "active", "pending", "gone"]
    placements = tuple(Placement(i, PROV[i], b"r" * 32, s, 5) for i, s in enumerate(statuses))
    deal = DealView(b"\x0d" * 32, OWNER, b"h" * 32, 4_096, 1_024, 2, 4, 1_024, 10, placements, 9)
    unnamed = dataclasses.replace(deal, object_id=b"\x0e" * 32)
    providers = {PROV[0]: ProviderView(PROV[0], "http://a", 10, 1, 5, 100, 3)}
    rows = build_objects([unnamed, deal], providers, {(b"\x0d" * 32).hex(): "notes.txt"})
    assert [r.name for r in rows] == ["notes.txt", ""]  # named ones first
    row = rows[0]
    assert (row.live, row.pieces, row.needed, row.health) == (2, 4, 2, "at risk")
    assert [p.state for p in row.placements] == [
        "held and proven",
        "held and proven",
        "being placed",
        "gone (its provider left)",
    ]
    assert row.placements[0].missed_proofs == 3 and row.placements[1].missed_proofs == 0
    assert row.placements[0].provider == encode_address(PROV[0])


def grant(**extra: object) -> Grant:
    fields: dict[str, object] = {
        "owner": OWNER,
        "grantee": BUYER,
        "purpose": "research",
        "expiry": 1_800_000_000,
        "max_accesses": 10,
        "objects": (),
        "objects_root": b"",
        "object_count": 2,
        "nodes": (),
        "threshold": 2,
        "delegating_pk": b"",
        "verifying_pk": b"",
        "offer_id": b"",
        "created_at": 5,
    }
    fields.update(extra)
    return Grant(**fields)  # type: ignore[arg-type]


def test_grants_live_first_with_uses_and_expiry() -> None:
    rows = build_grants(
        [
            (b"\x01" * 32, grant(revoked_at=9)),
            (b"\x02" * 32, grant(accesses=3, created_at=7, offer_id=b"o" * 32)),
            (b"\x03" * 32, grant(expired_at=8, created_at=8)),
            (b"\x04" * 32, grant(exhausted_at=8, created_at=1)),
        ]
    )
    assert [r.state for r in rows] == ["live", "expired", "revoked", "used up"]
    live = rows[0]
    assert live.can_revoke and live.uses == "3 of 10 uses" and live.sale
    assert live.expires == "2027-01-15 08:00 UTC" and live.grantee == encode_address(BUYER)
    assert not any(r.can_revoke for r in rows[1:])


def test_sales_count_paid_objects_as_earnings() -> None:
    offer = "ab" * 32
    records: list[dict[str, Any]] = [
        {"offer": offer, "grantee": "vox1buyer", "price": 250, "objects": ["01", "02", "03"]},
        {"offer": "", "objects": ["04"]},  # a grant made by hand: not a sale
    ]
    states = {(offer, "01"): "paid", (offer, "02"): "held", (offer, "03"): "paid"}
    rows, earned = build_sales(records, states)
    assert len(rows) == 1
    assert (rows[0].objects, rows[0].paid, rows[0].held, rows[0].disputed) == (3, 2, 1, 0)
    assert rows[0].earned == Amount(500) and earned == Amount(500)
    assert build_sales([], {}) == ((), Amount(0))


def test_policy_form_round_trips_and_refuses_bad_input_in_words() -> None:
    policy = SharingPolicy(kinds=("voice", "text"), min_price=25, auto=True)
    fields = {f.name: f for f in build_policy_form(policy)}
    assert fields["kinds"].value == "voice, text" and fields["auto"].value == "on"
    form = {f.name: f.value for f in fields.values()}
    assert policy_from_form(SharingPolicy(), form) == policy
    form.pop("auto")  # an unticked checkbox is not sent
    assert policy_from_form(policy, form).auto is False
    assert policy_from_form(policy, {"auto": "on", "min_price": "30"}).kinds == policy.kinds
    with pytest.raises(InputError) as err:
        policy_from_form(policy, {**form, "min_price": "cheap"})
    assert err.value.code == "invalid_policy"
    with pytest.raises(InputError):
        policy_from_form(policy, {**form, "never": "voice"})  # both shared and never


def test_revoke_only_a_live_grant_of_the_owners() -> None:
    gid = b"\x02" * 32
    grants = {gid: grant(), b"\x03" * 32: grant(revoked_at=4), b"\x04" * 32: grant(owner=BUYER)}
    (msg,) = revoke_msgs(OWNER, gid.hex(), grants)
    assert isinstance(msg, MsgRevoke) and (msg.owner, msg.grant_id) == (OWNER, gid)
    for text, code in [
        ("zz", "unknown_grant"),
        ("05" * 32, "unknown_grant"),
        ("04" * 32, "unknown_grant"),
        ("03" * 32, "grant_not_live"),
    ]:
        with pytest.raises(InputError) as err:
            revoke_msgs(OWNER, text, grants)
        assert err.value.code == code
