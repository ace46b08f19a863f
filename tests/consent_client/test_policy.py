"""The owner's sharing policy: a missing file shares nothing; an offer is refused for each reason
the policy names; objects are chosen by label, never a forbidden tag, within the period's cap and
the escrow; the decision log replays the caps; labels commit to the plaintext."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from voxpop.client.consent import (
    DecisionLog,
    LabelError,
    OfferTerms,
    PolicyError,
    SharingPolicy,
    decide,
    label_object,
    load_policy,
    save_policy,
    set_fields,
)
from voxpop.client.storage import IndexEntry, NameIndex
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey

NOW = 1_800_000_000
BUYER = encode_address(bytes([1]) * 20)
OTHER = encode_address(bytes([2]) * 20)
POLICY = SharingPolicy(
    kinds=("utterance",),
    purposes=("asr-training",),
    min_price=20,
    never=("location", "email"),
    max_objects_per_period=500,
    auto=True,
)
OFFER = OfferTerms(
    offer_id=b"\x07" * 32,
    buyer=BUYER,
    kind="utterance",
    language="en",
    min_seconds=1,
    max_seconds=10,
    purpose="asr-training",
    price=25,
    access_seconds=3600,
    max_objects=20,
    remaining=20,
    expires=NOW + 3600,
)


def obj(i: int, **label: object) -> IndexEntry:
    base = IndexEntry(f"{i:064x}", f"u{i}.wav", 10, i, 4, 6, 10, 1)
    fields = {"kind": "utterance", "language": "en", "seconds": 3, "content_hash": "ab" * 32}
    return dataclasses.replace(base, **{**fields, **label})  # type: ignore[arg-type]


def test_missing_file_shares_nothing(tmp_path: Path) -> None:
    policy = load_policy(tmp_path)
    assert policy == SharingPolicy()
    d = decide(policy, OFFER, [obj(1)], frozenset(), [], NOW)
    assert not d.accept and d.reasons == ("kind 'utterance' is not shared",)


def test_save_load_set(tmp_path: Path) -> None:
    save_policy(tmp_path, POLICY)
    assert load_policy(tmp_path) == POLICY
    changed = set_fields(POLICY, {"min_price": "30", "languages": "en,de", "auto": "false"})
    assert (changed.min_price, changed.languages, changed.auto) == (30, ("en", "de"), False)
    with pytest.raises(PolicyError):
        set_fields(POLICY, {"min_prize": "30"})
    with pytest.raises(PolicyError):
        set_fields(POLICY, {"min_price": "-1"})
    with pytest.raises(PolicyError):
        set_fields(POLICY, {"deny_buyers": "nobody"})


def test_invalid_policy_shares_a_forbidden_kind() -> None:
    with pytest.raises(PolicyError, match="never"):
        SharingPolicy(kinds=("utterance", "location"), never=("location",))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"price": 19}, "price 19 < minimum 20"),
        ({"purpose": "research"}, "purpose 'research' is not accepted"),
        ({"kind": "photo"}, "kind 'photo' is not shared"),
        ({"expires": NOW}, "the offer has expired"),
        ({"remaining": 0}, "the offer's escrow is spent"),
        ({"access_seconds": 40 * 86_400}, "access for 3456000s > at most 2592000s"),
    ],
)
def test_invalid_offer_refused(change: dict[str, object], why: str) -> None:
    offer = dataclasses.replace(OFFER, **change)  # type: ignore[arg-type]
    d = decide(POLICY, offer, [obj(1)], frozenset(), [], NOW)
    assert not d.accept and d.objects == () and d.reasons == (why,)


def test_buyer_lists() -> None:
    denied = dataclasses.replace(POLICY, deny_buyers=(BUYER,))
    assert decide(denied, OFFER, [obj(1)], frozenset(), [], NOW).reasons == ("the buyer is denied",)
    only_other = dataclasses.replace(POLICY, allow_buyers=(OTHER,))
    assert not decide(only_other, OFFER, [obj(1)], frozenset(), [], NOW).accept
    only_buyer = dataclasses.replace(POLICY, allow_buyers=(BUYER,))
    assert decide(only_buyer, OFFER, [obj(1)], frozenset(), [], NOW).accept


def test_objects_by_label_never_forbidden() -> None:
    entries = [
        obj(1),
        obj(2, tags=("location",)),  # forbidden tag
        obj(3, language="de"),
        obj(4, seconds=11),  # too long for the offer
        obj(5, kind="photo"),
        obj(6, content_hash=""),  # unlabelled: no commitment to publish
        obj(7),
        obj(8),
    ]
    d = decide(POLICY, OFFER, entries, frozenset({obj(8).object_id}), [], NOW)
    assert d.accept and d.objects == (obj(1).object_id, obj(7).object_id)


def test_period_cap_and_escrow(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path)
    capped = dataclasses.replace(POLICY, max_objects_per_period=25)
    log.append("grant", NOW - 100, grant="00" * 32, offer="11" * 32, objects=["a"] * 20)
    log.append("grant", NOW - capped.period_seconds, grant="01" * 32, offer="", objects=["b"] * 9)
    entries = [obj(i) for i in range(30)]
    d = decide(capped, OFFER, entries, frozenset(), log.grant_history(), NOW)
    assert d.objects == tuple(e.object_id for e in entries[:5])  # 25 - 20 (the old 9 expired)
    d = decide(POLICY, OFFER, entries, frozenset(), log.grant_history(), NOW)
    assert len(d.objects) == 20  # the escrow's remaining count
    log.append("grant", NOW, grant="02" * 32, offer="11" * 32, objects=["c"] * 5)
    d = decide(capped, OFFER, entries, frozenset(), log.grant_history(), NOW)
    assert d.reasons == ("the period's cap is reached",)
    assert log.sold_to(b"\x11" * 32) == {"a", "c"}


def test_log_skips_torn_line(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path)
    log.append("offer", NOW, offer="aa", accept=False, reasons=["x"])
    with open(log.path, "a") as f:
        f.write('{"event": "grant", "ti')
    assert [r["event"] for r in log.records()] == ["offer"]
    assert log.handled_offers() == {"aa"}


def test_label_commits_to_plaintext(tmp_path: Path) -> None:
    index = NameIndex(tmp_path, PrivateKey(bytes([9]) * 32))
    index.add(IndexEntry("cd" * 32, "a.wav", 5, 1, 4, 6, 10, 1))
    labelled = label_object(
        index, bytes.fromhex("cd" * 32), b"hello", kind="utterance", seconds=2, tags=("email",)
    )
    salt = bytes.fromhex(labelled.salt)
    assert labelled.content_hash == hashlib.sha256(salt + b"hello").hexdigest()
    assert index.get("cd" * 32) == labelled and labelled.tags == ("email",)
    with pytest.raises(LabelError):
        label_object(index, bytes.fromhex("cd" * 32), b"hell", kind="utterance")
    with pytest.raises(LabelError):
        label_object(index, b"\x01" * 32, b"hello", kind="utterance")
