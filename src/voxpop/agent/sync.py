"""The agent's catch-up with the chain, every `interval` seconds in a background thread:

- devices the owner removed (through another agent or the CLI) stop here: their tokens go;
- the verified cache is refreshed (each paired device's settings, the location, and what other
  parts register with `add_hook`), so reads answer with what was last proven when no node does;
- expired tokens and pairing codes are pruned.

A pass that finds no node changes nothing and waits for the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxpop.agent.errors import AgentError
from voxpop.agent.pairings import blob_name
from voxpop.agent.reports import publish_all_pending

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 30.0
DEVICES_BY_OWNER = "/devices/by_owner"


class Syncer:
    def __init__(self, agent: Agent, interval: float = DEFAULT_INTERVAL) -> None:
        self.agent = agent
        self.interval = interval
        self.hooks: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.last_ok: float | None = None
        self._keys_published = False

    def add_hook(self, hook: Callable[[], None]) -> None:
        """Run `hook` on every pass (after devices and settings): e.g. refresh skill records."""
        self.hooks.append(hook)

    def run_once(self) -> bool:
        """One pass; whether the chain answered."""
        agent = self.agent
        agent.tokens.prune()
        agent.pairings.prune()
        try:
            self.ensure_keys_published()
            self.sync_devices()
            publish_all_pending(agent)
            for name in self.record_names():
                agent.chain.read_record(name, refresh=True)
            for hook in self.hooks:
                hook()
        except AgentError as exc:
            log.info("sync: %s (%s)", exc.code, exc)
            return False
        except Exception as exc:  # a node's bad answer: the next pass tries again
            log.warning("sync failed: %r", exc)
            return False
        finally:
            self.passes += 1
        self.last_ok = agent.clock()
        return True

    def record_names(self) -> list[str]:
        names = ["location"]
        for record in self.agent.devices.all():
            if not record["removed"]:
                names.append(f"device/{record['device_id']}/settings")
        return names

    def ensure_keys_published(self) -> None:
        """Publish the agent's encryption keys once, so the owner can wrap the settings key to
        it (a tx of the agent's own: it needs a little uvox; until then, say so in the log)."""
        if self._keys_published:
            return
        chain = self.agent.chain
        if chain.call(lambda c: c.directory_keys(chain.agent).record) is None:
            from voxpop.client.errors import TxRejectedError

            try:
                chain.call(lambda c: c.publish_keys(chain.agent_key))
            except TxRejectedError as exc:
                log.warning("the agent cannot publish its encryption keys yet: %s", exc)
                return
            log.info("published the agent's encryption keys")
        self._keys_published = True

    def sync_devices(self) -> None:
        """Mark removed every device this agent serves that is no longer active on chain."""
        agent = self.agent
        items = agent.chain.call(lambda c: c.query_list(DEVICES_BY_OWNER, agent.owner).items)
        active = {item.id.hex(): item.value for item in items}
        for record in agent.devices.all():
            if record["removed"]:
                continue
            if record["device_id"] in active:
                self._follow_name(record, active[record["device_id"]])
                continue
            agent.devices.mark_removed(record["uuid"])
            gone = agent.tokens.revoke_device(record["uuid"])
            log.info("device %s removed on chain: %d tokens revoked", record["uuid"], gone)

    def _follow_name(self, record: dict[str, Any], raw_device: bytes) -> None:
        """Take the name the owner gave the device (sealed in its blob on chain)."""
        from voxpop.chain.encoding import decode_state
        from voxpop.chain.modules.devices.state import Device

        chain = self.agent.chain
        device_id = bytes.fromhex(record["device_id"])
        blob = Device.from_value(decode_state(raw_device)).blob
        plain = chain.call(lambda c: chain.vault(c).open_blob(device_id, blob))
        name = blob_name(plain)
        if name and name != record.get("name"):
            self.agent.devices.update(record["uuid"], name=name)

    # --- the thread ---

    def start(self) -> None:
        if self._thread is not None or self.interval <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="agent-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)
