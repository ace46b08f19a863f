"""Our own light client (voxpop.client.light) over CometBFT's RPC, for state sync.

CometBFT verifies the app hash it offers a snapshot with through its own light client; a
joining node checks it once more with ours, from the same trust root (`[statesync]
trust_height/trust_hash` in CometBFT's config.toml) across the same RPC servers (the first
primary, the others witnesses), before it restores anything. The app hash of height H is in the
header of H+1.

The light client's flows ask for the HTTP API's two light routes; `RpcLightDriver` answers them
from CometBFT's `/commit` and `/validators`, which is what those routes relay.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from voxpop.client.effects import Flow, HttpRequest, HttpResponse, Sleep
from voxpop.client.errors import VoxClientError
from voxpop.client.light import LightClient, TrustOptions
from voxpop.node.snapshots.errors import AppHashMismatchError, SnapshotError

T = TypeVar("T")
_SIGNED_HEADER = "/v1/light/signed_header/"
_VALIDATORS = "/v1/light/validators/"


class RpcLightDriver:
    """Runs light client flows against CometBFT RPC servers."""

    def __init__(self, primary: str, timeout: float = 10.0) -> None:
        self.primary = primary.rstrip("/")
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _rpc(self, base: str, method: str, params: dict[str, str]) -> tuple[int, Any]:
        try:
            reply = self._http.get(f"{base}/{method}", params=params)
            doc = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            return 503, {"error": {"code": "unreachable", "message": str(exc)}}
        if doc.get("error"):
            err = doc["error"]
            text = f"{err.get('message', '')}: {err.get('data', '')}"
            missing = any(s in text for s in ("must be less than or equal", "not found"))
            return (404 if missing else 502), {"error": {"code": "rpc", "message": text}}
        return 200, doc["result"]

    def _answer(self, req: HttpRequest) -> HttpResponse:
        base = (req.base_url or self.primary).rstrip("/")
        if req.path.startswith(_SIGNED_HEADER):
            which = req.path.removeprefix(_SIGNED_HEADER)
            params = {} if which == "latest" else {"height": which}
            status, result = self._rpc(base, "commit", params)
            body = {"signed_header": result["signed_header"]} if status == 200 else result
        elif req.path.startswith(_VALIDATORS):
            height = req.path.removeprefix(_VALIDATORS)
            validators: list[Any] = []
            status, body = 200, {}
            for page in range(1, 101):
                params = {"height": height, "page": str(page), "per_page": "100"}
                status, result = self._rpc(base, "validators", params)
                if status != 200:
                    body = result
                    break
                validators.extend(result["validators"])
                if len(validators) >= int(result["total"]) or not result["validators"]:
                    body = {"height": int(height), "validators": validators}
                    break
        else:
            status, body = 404, {"error": {"code": "not_found", "message": req.path}}
        return HttpResponse(status, json.dumps(body).encode())

    def run(self, flow: Flow[T]) -> T:
        reply: Any = None
        while True:
            try:
                effect = flow.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(effect, Sleep):
                time.sleep(effect.seconds)
                reply = time.monotonic()
            else:
                reply = self._answer(effect)


def verified_app_hash(
    rpc_servers: Sequence[str], trust: TrustOptions | None, height: int, chain_id: str | None = None
) -> bytes:
    """The app hash after `height`, from header height+1 as our light client verifies it.

    Raises SnapshotError if it cannot be verified (unreachable, bad signatures, a fork).
    """
    if not rpc_servers:
        raise SnapshotError("no RPC servers to verify the snapshot's app hash with")
    driver = RpcLightDriver(rpc_servers[0])
    light = LightClient(chain_id=chain_id, trust_options=trust, witnesses=rpc_servers[1:])
    try:
        block = driver.run(light.verified_flow(height + 1))
    except VoxClientError as exc:
        raise SnapshotError(f"the light client cannot verify header {height + 1}: {exc}") from exc
    finally:
        driver.close()
    return block.signed_header.header.app_hash


def check_with_light_client(
    rpc_servers: Sequence[str], trust: TrustOptions | None, chain_id: str | None = None
) -> Callable[[int, bytes], None]:
    """An AppHashCheck (voxpop.node.snapshots.service) using `verified_app_hash`."""

    def check(height: int, app_hash: bytes) -> None:
        verified = verified_app_hash(rpc_servers, trust, height, chain_id)
        # Verify CometBFT offered the app hash our light client verified
        if verified != app_hash:
            raise AppHashMismatchError(
                f"offered app hash {app_hash.hex()}, header {height + 1} says {verified.hex()}"
            )

    return check
