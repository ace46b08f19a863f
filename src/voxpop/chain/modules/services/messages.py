"""Services messages: a provider registers, updates and leaves an offer of one kind of service.

What depends on the chain's parameters (the kinds offered, the minimum stake, the endpoint and
language limits) is checked by the handlers; the kinds here check only shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

import nacl.bindings

from voxpop.chain.errors import (
    InvalidEndpointError,
    InvalidLanguagesError,
    InvalidSigningKeyError,
)
from voxpop.chain.fields import ADDRESS, AMOUNT, UINT64, Doc, HexKind, Kind, ListKind
from voxpop.chain.module import Msg
from voxpop.chain.modules.services.state import (
    MAX_ENDPOINT_LEN,
    MAX_KIND_LEN,
    MAX_LANGUAGE_LEN,
    MAX_LANGUAGES,
    is_kind,
    is_language,
)


class ServiceKindKind(Kind):
    """A service kind's name: 1 to 16 characters a-z 0-9 _ - (whether the chain offers it is
    the handler's question)."""

    doc = f"service kind, 1..{MAX_KIND_LEN} of a-z 0-9 _ -, e.g. stt"

    def parse(self, value: Any, name: str) -> str:
        # Verify the shape of a kind name
        if not isinstance(value, str) or not is_kind(value):
            raise self.fail(name, f"1 to {MAX_KIND_LEN} characters a-z 0-9 _ -")
        return value


class EndpointKind(Kind):
    """An http or https URL with a host, printable ASCII without spaces."""

    doc = f"http(s) URL, at most {MAX_ENDPOINT_LEN} bytes"
    error = InvalidEndpointError

    def parse(self, value: Any, name: str) -> str:
        # Verify printable ASCII of bounded length, then an http(s) URL naming a host
        if (
            not isinstance(value, str)
            or not 0 < len(value) <= MAX_ENDPOINT_LEN
            or not all("!" <= c <= "~" for c in value)
        ):
            raise self.fail(name, f"printable ASCII of 1 to {MAX_ENDPOINT_LEN} bytes, no spaces")
        try:
            url = urlsplit(value)
            host, _ = url.hostname, url.port  # the port must parse too
        except ValueError:
            raise self.fail(name, "an http or https URL") from None
        if url.scheme not in ("http", "https") or not host:
            raise self.fail(name, "an http or https URL with a host")
        return value


class LanguageKind(Kind):
    """A language tag (`en-us`) or region (`eu`): 1 to 16 of a-z 0-9 -, lowercase."""

    doc = f"1..{MAX_LANGUAGE_LEN} of a-z 0-9 -"
    error = InvalidLanguagesError

    def parse(self, value: Any, name: str) -> str:
        # Verify the shape of a lowercase tag
        if not isinstance(value, str) or not is_language(value):
            raise self.fail(name, f"1 to {MAX_LANGUAGE_LEN} characters a-z 0-9 -")
        return value


class Ed25519KeyKind(HexKind):
    """An Ed25519 public key: a point on the curve, not of small order. JSON: hex."""

    doc = "32-byte Ed25519 public key"
    error = InvalidSigningKeyError

    def parse(self, value: Any, name: str) -> bytes:
        # Verify 32 bytes encoding a valid point (libsodium decides; refuses small order)
        if (
            not isinstance(value, bytes)
            or len(value) != 32
            or not nacl.bindings.crypto_core_ed25519_is_valid_point(value)
        ):
            raise self.fail(name, "a valid Ed25519 public key")
        return value


SERVICE_KIND = ServiceKindKind()
ENDPOINT = EndpointKind()
LANGUAGES = ListKind(LanguageKind(), max_items=MAX_LANGUAGES)
ED25519_KEY = Ed25519KeyKind()
PRICE = Doc("uvox per call; for stt per started 10 seconds of audio")
RECEIPTS = Doc("signs the gateway's receipts")


def check_distinct(languages: tuple[str, ...]) -> None:
    # Verify no language is named twice
    if len(set(languages)) != len(languages):
        raise InvalidLanguagesError("languages must not repeat")


@dataclass(frozen=True, slots=True)
class MsgRegister(Msg):
    """Offer a kind of service at `endpoint` and `price`, locking `stake` (at least the minimum)
    in the services module account."""

    TYPE = "services/Register"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    kind: Annotated[str, SERVICE_KIND, Doc("one of the chain's kinds")]
    endpoint: Annotated[str, ENDPOINT]
    price: Annotated[int, AMOUNT, PRICE]
    languages: Annotated[tuple[str, ...], LANGUAGES, Doc("distinct; at most max_languages")]
    signing_key: Annotated[bytes, ED25519_KEY, RECEIPTS]
    stake: Annotated[int, AMOUNT, Doc("at least min_stake")]

    def validate(self) -> None:
        check_distinct(self.languages)


@dataclass(frozen=True, slots=True)
class MsgUpdate(Msg):
    """Replace an active offer's endpoint, price, languages and signing key, and add to its
    stake (`add_stake` may be 0)."""

    TYPE = "services/Update"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    kind: Annotated[str, SERVICE_KIND]
    endpoint: Annotated[str, ENDPOINT]
    price: Annotated[int, AMOUNT, PRICE]
    languages: Annotated[tuple[str, ...], LANGUAGES, Doc("distinct; at most max_languages")]
    signing_key: Annotated[bytes, ED25519_KEY, RECEIPTS]
    add_stake: Annotated[int, UINT64, Doc("uvox locked in addition")]

    def validate(self) -> None:
        check_distinct(self.languages)


@dataclass(frozen=True, slots=True)
class MsgLeave(Msg):
    """Withdraw an offer: it is unlisted at once, and its stake returns after the unbonding
    period."""

    TYPE = "services/Leave"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    kind: Annotated[str, SERVICE_KIND]
