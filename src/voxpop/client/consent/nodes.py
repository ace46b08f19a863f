"""Signed HTTP to privacy (re-encryption) nodes: the owner delivers a grant's sealed key fragment
and kits (`PUT /v1/grants/{id}`, signed with the owner's account key as storage requests are);
a grantee asks for an access (`POST /v1/reencrypt`, the body is its signed access request).
Wire formats: docs/protocol/consent.md. One pooled httpx.Client serves the worker threads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2
import httpx

from voxpop.client.consent.errors import ConsentClientError
from voxpop.client.payments.client import PayingClient
from voxpop.client.payments.errors import PaymentError
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.storage_auth import sign_request

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_ANSWER_BYTES = 16 * 1024  # a cfrag, an attestation, a kit and a sealed salt: ~1.5 KB


def grant_path(grant_id: bytes) -> str:
    return f"/v1/grants/{grant_id.hex()}"


REENCRYPT_PATH = "/v1/reencrypt"
REENCRYPT_KIND = "reencrypt"
CBOR = "application/cbor"


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    """One node's answer to an access request (unverified: the caller checks it)."""

    cfrag: bytes
    attestation: bytes
    kit: bytes
    salt: bytes  # the object's salt sealed to the grantee


class NodeRefusedError(ConsentClientError):
    """A privacy node answered with an error (its code is kept: grant_expired, ...)."""

    code = "node_refused"


class PrivacyNodes:
    def __init__(self, account: PrivateKey, max_connections: int = 32) -> None:
        self.account = account
        self._http = httpx.Client(
            timeout=TIMEOUT, limits=httpx.Limits(max_connections=max_connections)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrivacyNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put_grant(
        self, endpoint: str, grant_id: bytes, sealed_kfrag: bytes, kits: list[list[bytes]]
    ) -> None:
        """Deliver one node's fragment and the grant's kits ([object_id, kit, sealed salt])."""
        path = grant_path(grant_id)
        body = cbor2.dumps({"v": 1, "kfrag": sealed_kfrag, "kits": kits}, canonical=True)
        auth = sign_request(self.account, "PUT", path, body, int(time.time()))
        headers = {"Authorization": auth, "Content-Type": "application/cbor"}
        self._send("PUT", endpoint, path, body, headers)

    def reencrypt(self, endpoint: str, request: bytes) -> NodeAnswer:
        """The node's answer to a signed access request. Raises NodeRefusedError,
        ConsentClientError (unreachable, malformed answer)."""
        headers = {"Content-Type": CBOR}
        raw = self._send("POST", endpoint, REENCRYPT_PATH, request, headers)
        return parse_answer(endpoint, raw)

    def _send(
        self, method: str, endpoint: str, path: str, body: bytes, headers: dict[str, str]
    ) -> bytes:
        try:
            resp = self._http.request(
                method, endpoint.rstrip("/") + path, content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ConsentClientError(f"{endpoint}: {exc!r}", "node_unreachable") from None
        if resp.status_code >= 300:
            raise node_refusal(endpoint, resp.status_code, resp.content[:MAX_ANSWER_BYTES])
        return resp.content


def parse_answer(where: str, raw: bytes) -> NodeAnswer:
    """A node's CBOR answer `{"cfrag", "attestation", "kit", "salt"}`. Raises
    ConsentClientError(node_bad_answer)."""
    # Verify the answer's size before parsing it
    if len(raw) > MAX_ANSWER_BYTES:
        raise ConsentClientError(f"{where}: an answer too large", "node_bad_answer")
    try:
        doc = cbor2.loads(raw)
        fields = (doc["cfrag"], doc["attestation"], doc["kit"], doc["salt"])
        return NodeAnswer(*(bytes(f) for f in fields))
    except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError, EOFError):
        raise ConsentClientError(f"{where}: a malformed answer", "node_bad_answer") from None


def paid_ask(payer: PayingClient) -> Callable[[bytes, str, bytes], NodeAnswer]:
    """Ask one node through its paid gateway (a voucher on the grantee's channel to it)."""

    def ask(node: bytes, endpoint: str, request: bytes) -> NodeAnswer:
        try:
            paid = payer.call_provider(node, REENCRYPT_KIND, request, content_type=CBOR)
        except PaymentError as exc:
            raise NodeRefusedError(f"{endpoint}: {exc}") from None
        return parse_answer(endpoint, paid.body)

    return ask


def node_refusal(endpoint: str, status: int, body: bytes) -> NodeRefusedError:
    """The node's error with its code, when it sent one."""
    try:
        err: Any = json.loads(body)["error"]
        return NodeRefusedError(f"{endpoint}: {err['message']}", str(err["code"]))
    except (ValueError, KeyError, TypeError):
        return NodeRefusedError(f"{endpoint}: HTTP {status}")
