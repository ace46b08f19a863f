"""The earning page's data: the paid-API provider and the storage node the owner runs on this
machine, each from what the role itself reports (the provider's status file in its home, the
storage node's GET /v1/status), and plainly "not running" when none does.

Where the roles live comes from agent.toml's `[earning]` table:

    [earning]
    provider_homes = ["/home/me/.voxpop"]   # `voxpop provider start --home` of each provider
    storage_homes = ["/home/me/storage"]    # `voxpop storage start --home` of each storage node

Without the table the owner tools' default home (~/.voxpop, $VOXPOP_HOME) is looked at for both.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from voxpop.agent.home.views.amounts import Amount, vox
from voxpop.agent.home.views.labels import service_label
from voxpop.agent.home.views.wallet import format_time

STALE_STATUS_SECONDS = 10  # the provider rewrites its status file every second
STATUS_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str
    title: str = ""  # the exact figure on hover (uvox)


@dataclass(frozen=True, slots=True)
class RoleStatus:
    role: str  # provider | storage
    title: str  # "Speech to text provider", "Storage node"
    where: str  # the home it runs from
    running: bool
    summary: str  # one plain sentence
    earned: Amount | None
    facts: tuple[Fact, ...]


def _amount_fact(label: str, uvox: int) -> Fact:
    a = vox(uvox)
    return Fact(label, a.text, a.exact)


def build_provider_status(where: str, status: Mapping[str, Any] | None, now: int) -> RoleStatus:
    """A provider from its status file (None: no provider ever ran there)."""
    if status is None:
        return RoleStatus(
            "provider",
            "Service provider",
            where,
            False,
            "No provider has run here.",
            None,
            (),
        )
    age = now - int(status.get("updated_at", 0))
    running = age <= STALE_STATUS_SECONDS and bool(status.get("alive", True))
    kind = str(status.get("kind", ""))
    earned = int(status.get("earned", 0))
    summary = (
        f"Running: {int(status.get('served', 0)):,} paid calls answered since it started."
        if running
        else f"Not running: its last report was {format_time(int(status.get('updated_at', 0)))}."
    )
    facts = (
        Fact("Service", service_label(kind)),
        _amount_fact("Price per call", int(status.get("price", 0))),
        Fact("Paid calls answered", f"{int(status.get('served', 0)):,}"),
        _amount_fact("Earned since it started", earned),
        _amount_fact("Not yet claimed", int(status.get("unclaimed", 0))),
        _amount_fact("Claimed on chain", int(status.get("claimed", 0))),
        Fact("Open payment channels", str(int(status.get("channels", 0)))),
        Fact("Claims that failed", str(int(status.get("claim_errors", 0)))),
        Fact("Address", str(status.get("provider", ""))),
    )
    return RoleStatus(
        "provider",
        f"{service_label(kind)} provider" if kind else "Service provider",
        where,
        running,
        summary,
        vox(earned),
        facts,
    )


def build_storage_status(where: str, status: Mapping[str, Any] | None) -> RoleStatus:
    """A storage node from its GET /v1/status (None: it does not answer, or none is set up)."""
    if status is None:
        return RoleStatus(
            "storage", "Storage node", where, False, "No storage node is running here.", None, ()
        )
    earned = int(status.get("earned", 0))
    shards = int(status.get("shards_held", 0))
    faults = int(status.get("faults", 0))
    used, capacity = int(status.get("used", 0)), int(status.get("capacity", 0))
    summary = f"Running: holding {shards:,} pieces of other people's data."
    if faults:
        summary += f" It has missed {faults} proofs."
    facts = (
        Fact("Pieces held", f"{shards:,}"),
        Fact("Space used", f"{_bytes(used)} of {_bytes(capacity)}"),
        _amount_fact("Earned", earned),
        _amount_fact("Ready to claim", int(status.get("claimable", 0))),
        _amount_fact("Collateral", int(status.get("collateral", 0))),
        Fact("Proofs sent", f"{int(status.get('proofs_sent', 0)):,}"),
        Fact("Missed proofs", str(faults)),
        Fact("Network reachable", "yes" if status.get("node_reachable", True) else "no"),
        Fact("Address", str(status.get("address", ""))),
    )
    return RoleStatus("storage", "Storage node", where, True, summary, vox(earned), facts)


def _bytes(n: int) -> str:
    """Bytes as people read them: 999 bytes, 1.5 KB, 2.0 GB (decimal units)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,} bytes"


@dataclass(frozen=True, slots=True)
class EarningView:
    roles: tuple[RoleStatus, ...]
    total: Amount

    @property
    def any_running(self) -> bool:
        return any(r.running for r in self.roles)


def build_earning(roles: Sequence[RoleStatus]) -> EarningView:
    total = sum(r.earned.uvox for r in roles if r.earned is not None)
    return EarningView(tuple(roles), vox(total))


# --- reading the roles ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarningPlaces:
    provider_homes: tuple[Path, ...]
    storage_homes: tuple[Path, ...]


def earning_places(config_path: Path, default_home: Path) -> EarningPlaces:
    """The `[earning]` table of agent.toml; the owner tools' home for what it leaves out."""
    try:
        doc = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        doc = {}
    table = doc.get("earning", {})
    table = table if isinstance(table, dict) else {}

    def homes(name: str) -> tuple[Path, ...]:
        value = table.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return (default_home,)
        return tuple(Path(v).expanduser() for v in value)

    return EarningPlaces(homes("provider_homes"), homes("storage_homes"))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_provider(home: Path, now: int) -> RoleStatus:
    from voxpop.provider.service import provider_dir
    from voxpop.provider.status import STATUS_NAME, read_status

    status = read_status(provider_dir(home) / STATUS_NAME)
    if status is not None:
        status = {**status, "alive": _alive(int(status.get("pid", 0)))}
    return build_provider_status(str(home), status, now)


def read_storage(home: Path, get: Callable[[str], Any] | None = None) -> RoleStatus:
    from voxpop.storage.config import StorageConfigError, load_config

    try:
        config = load_config(home)
    except StorageConfigError:
        return build_storage_status(str(home), None)
    try:
        answer = (get or _get)(f"{config.url}/v1/status")
    except (httpx.HTTPError, ValueError):
        answer = None
    return build_storage_status(str(home), answer if isinstance(answer, dict) else None)


def _get(url: str) -> Any:
    response = httpx.get(url, timeout=STATUS_TIMEOUT)
    response.raise_for_status()
    return response.json()


def read_earning(places: EarningPlaces, now: int | None = None) -> EarningView:
    at = int(time.time()) if now is None else now
    roles = [read_provider(h, at) for h in places.provider_homes]
    roles += [read_storage(h) for h in places.storage_homes]
    return build_earning(roles)
