"""The owner's sharing policy (issue 14, M20): what the agent may share, for which purposes, at
what minimum price, with whom, and how much per period. `<home>/policy.toml`:

    kinds = ["utterance"]            # object kinds that may be shared (empty: nothing is)
    purposes = ["asr-training"]      # purposes accepted (from the chain's vocabulary)
    languages = []                   # empty: any language
    min_price = 20                   # uvox per object, at least
    max_access_seconds = 2592000     # a grant lasts at most this long (30 days)
    allow_buyers = []                # empty: any buyer not denied
    deny_buyers = []                 # addresses never sold to
    never = ["location", "email"]    # objects tagged with any of these are never shared
    max_objects_per_period = 500     # objects granted per period, at most
    period_seconds = 2592000
    auto = true                      # the agent's market loop accepts matching offers itself

A missing file is the empty policy: nothing is shared (sharing is opt-in). `decide` is a pure
function of the policy, an offer, the owner's labelled objects, what was already granted and the
time, so a decision can be replayed from the decision log.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from voxpop.client.consent.errors import PolicyError
from voxpop.client.storage.index import IndexEntry
from voxpop.crypto.address import AddressError, decode_address

POLICY_FILE = "policy.toml"
DAY = 86_400
DEFAULT_PERIOD = 30 * DAY


@dataclass(frozen=True, slots=True)
class SharingPolicy:
    kinds: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    min_price: int = 0
    max_access_seconds: int = DEFAULT_PERIOD
    allow_buyers: tuple[str, ...] = ()
    deny_buyers: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    max_objects_per_period: int = 0
    period_seconds: int = DEFAULT_PERIOD
    auto: bool = False

    def __post_init__(self) -> None:
        # Verify amounts and counts are non-negative integers, the period positive
        for name in ("min_price", "max_access_seconds", "max_objects_per_period"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PolicyError(f"{name} must be a non-negative integer")
        if isinstance(self.period_seconds, bool) or not isinstance(self.period_seconds, int):
            raise PolicyError("period_seconds must be a positive integer")
        if self.period_seconds <= 0:
            raise PolicyError("period_seconds must be a positive integer")
        # Verify a kind is not both shared and forbidden (the policy would contradict itself)
        both = sorted(set(self.kinds) & set(self.never))
        if both:
            raise PolicyError(f"kinds {both} are both shared and listed under never")
        # Verify every listed buyer is an address (a typo would silently match nobody)
        for name in ("allow_buyers", "deny_buyers"):
            for addr in getattr(self, name):
                try:
                    decode_address(addr)
                except AddressError:
                    raise PolicyError(f"{name}: {addr!r} is not an address") from None

    def to_doc(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


_LISTS = ("kinds", "purposes", "languages", "allow_buyers", "deny_buyers", "never")


def policy_from_doc(doc: Mapping[str, Any]) -> SharingPolicy:
    """A policy from a parsed policy.toml. Raises PolicyError naming the bad field."""
    known = set(SharingPolicy.__dataclass_fields__)
    unknown = sorted(set(doc) - known)
    # Verify every field is one the policy knows (a misspelt cap must not be ignored)
    if unknown:
        raise PolicyError(f"unknown policy field(s) {unknown}")
    values: dict[str, Any] = {}
    for name, value in doc.items():
        if name in _LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PolicyError(f"{name} must be a list of strings")
            values[name] = tuple(value)
        elif name == "auto":
            if not isinstance(value, bool):
                raise PolicyError("auto must be true or false")
            values[name] = value
        else:
            values[name] = value
    return SharingPolicy(**values)


def policy_path(home: Path) -> Path:
    return Path(home) / POLICY_FILE


def load_policy(home: Path) -> SharingPolicy:
    """The policy in `home` (the empty policy, which shares nothing, when there is no file)."""
    path = policy_path(home)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SharingPolicy()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from None
    return policy_from_doc(doc)


def save_policy(home: Path, policy: SharingPolicy) -> Path:
    path = policy_path(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(policy.to_doc()), encoding="utf-8")
    tmp.replace(path)
    return path


def set_fields(policy: SharingPolicy, changes: Mapping[str, str]) -> SharingPolicy:
    """`policy` with fields changed from text (`voxpop data policy set min_price=25 kinds=a,b`):
    lists are comma-separated (empty text: the empty list), numbers decimal, auto true/false."""
    doc = policy.to_doc()
    for name, text in changes.items():
        if name not in doc:
            raise PolicyError(f"unknown policy field {name!r}")
        if name in _LISTS:
            doc[name] = [v.strip() for v in text.split(",") if v.strip()]
        elif name == "auto":
            if text.lower() not in ("true", "false"):
                raise PolicyError("auto must be true or false")
            doc[name] = text.lower() == "true"
        else:
            try:
                doc[name] = int(text)
            except ValueError:
                raise PolicyError(f"{name} must be an integer, got {text!r}") from None
    return policy_from_doc(doc)


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What the agent reads of a market offer (market/Post's fields, proven from the chain)."""

    offer_id: bytes
    buyer: str  # address
    kind: str
    language: str  # empty: any
    min_seconds: int
    max_seconds: int
    purpose: str
    price: int  # uvox per object
    access_seconds: int
    max_objects: int
    remaining: int  # objects the escrow still pays for
    expires: int  # unix seconds


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer to one offer: the objects to grant (empty: declined) and why."""

    offer_id: bytes
    accept: bool
    objects: tuple[str, ...] = ()  # object ids (hex), in index order
    reasons: tuple[str, ...] = field(default_factory=tuple)


def granted_in_period(history: Sequence[tuple[int, int]], now: int, period: int) -> int:
    """Objects granted in the period ending at `now`, from (time, count) pairs."""
    return sum(count for t, count in history if now - period < t <= now)


def offer_refusal(policy: SharingPolicy, offer: OfferTerms, now: int) -> str | None:
    """Why the policy refuses the offer as a whole, or None."""
    checks = (
        (offer.expires <= now, "the offer has expired"),
        (offer.kind not in policy.kinds, f"kind {offer.kind!r} is not shared"),
        (offer.kind in policy.never, f"kind {offer.kind!r} is never shared"),
        (offer.purpose not in policy.purposes, f"purpose {offer.purpose!r} is not accepted"),
        (
            bool(policy.languages) and offer.language not in policy.languages,
            f"language {offer.language!r} is not shared",
        ),
        (offer.price < policy.min_price, f"price {offer.price} < minimum {policy.min_price}"),
        (
            offer.access_seconds > policy.max_access_seconds,
            f"access for {offer.access_seconds}s > at most {policy.max_access_seconds}s",
        ),
        (offer.buyer in policy.deny_buyers, "the buyer is denied"),
        (
            bool(policy.allow_buyers) and offer.buyer not in policy.allow_buyers,
            "the buyer is not in the allow list",
        ),
        (offer.remaining <= 0, "the offer's escrow is spent"),
    )
    for refused, why in checks:
        if refused:
            return why
    return None


def matches(policy: SharingPolicy, offer: OfferTerms, entry: IndexEntry) -> bool:
    """Whether one labelled object fits the offer and the policy."""
    return (
        entry.kind == offer.kind
        and bool(entry.content_hash)
        and (not offer.language or entry.language == offer.language)
        and offer.min_seconds <= entry.seconds <= offer.max_seconds
        and not set(entry.tags) & set(policy.never)
        and entry.kind not in policy.never
    )


def decide(
    policy: SharingPolicy,
    offer: OfferTerms,
    entries: Sequence[IndexEntry],
    already_sold: frozenset[str],
    history: Sequence[tuple[int, int]],
    now: int,
) -> Decision:
    """The objects the policy shares under `offer`: matching, not already sold to this offer,
    at most what the escrow still pays for and what the period's cap leaves. `history`: the
    (time, objects) of earlier grants, from the decision log."""
    refusal = offer_refusal(policy, offer, now)
    if refusal is not None:
        return Decision(offer.offer_id, False, (), (refusal,))
    left = policy.max_objects_per_period - granted_in_period(history, now, policy.period_seconds)
    # Verify the period's cap leaves room
    if left <= 0:
        return Decision(offer.offer_id, False, (), ("the period's cap is reached",))
    fresh = [e for e in entries if e.object_id not in already_sold]
    fitting = [e.object_id for e in fresh if matches(policy, offer, e)]
    if not fitting:
        return Decision(offer.offer_id, False, (), ("no object of yours matches",))
    chosen = tuple(fitting[: min(left, offer.remaining)])
    reasons = [f"{len(chosen)} matching object(s) at {offer.price} uvox each"]
    if len(chosen) < len(fitting):
        reasons.append(f"{len(fitting) - len(chosen)} more left out by the cap or the escrow")
    return Decision(offer.offer_id, True, chosen, tuple(reasons))
