"""Skill-use royalties: the agent tallies which skills answered the owner's devices and pays their
creators in batches with `skills/Settle`, sent as the owner's message under the owner's grant.

What counts as a use (docs/operations/agent-skills.md): one intent handler run that a device
reports as a `timing` metric with `system: skill_handler` naming the skill (AG3's metrics route
calls `record_use`), when

- the owner opted in (`[opt_in] skill_usage = true` in agent.toml);
- the skill is in that device's skill list (its last `skillJson`), by its id, its name, or its
  folder name without the author (`mycroft-weather.mycroftai` for msm's `mycroft-weather`);
- the id is a skill id the chain can pay (`<repo>.<author>`, lowercase);
- the skill's uses today (UTC day, all the owner's devices) are under the owner's cap for it
  (`[skill_use_caps]`: the skill's own entry, else `default`).

Only counts leave the agent: which skills, how many uses, never when or what was said. A batch
is settled when the pending uses reach `settle_threshold`, or `settle_period` seconds after the
last settlement (`[royalties]` in agent.toml); skills not registered on chain (or retired) pay
no one: their uses are dropped at settlement.
"""

from __future__ import annotations

import functools
import logging
import threading
import tomllib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voxpop.agent.auth import DeviceSession
from voxpop.agent.errors import AgentConfigError, AgentError, ChainRejectedError

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent
    from voxpop.client.sync import VoxClient

log = logging.getLogger(__name__)

NS = "royalties"
DAY_SECONDS = 86_400
DEFAULT_SETTLE_THRESHOLD = 100  # pending uses, all skills
DEFAULT_SETTLE_PERIOD = 86_400  # seconds between settlements while uses are pending


@dataclass(frozen=True, slots=True)
class Settlement:
    paid: dict[str, int] = field(default_factory=dict)  # skill id -> uses settled
    dropped: dict[str, int] = field(default_factory=dict)  # not registered or retired
    txs: tuple[str, ...] = ()  # tx hashes, hex


def royalty_settings(agent: Agent) -> tuple[int, int]:
    """(settle_threshold, settle_period) from agent.toml's `[royalties]` table. Raises
    AgentConfigError naming the bad field."""
    try:
        doc = tomllib.loads(agent.config.config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        doc = {}
    table = doc.get("royalties", {})
    if not isinstance(table, dict):
        raise AgentConfigError("[royalties] must be a table")
    values = []
    for name, default in (
        ("settle_threshold", DEFAULT_SETTLE_THRESHOLD),
        ("settle_period", DEFAULT_SETTLE_PERIOD),
    ):
        value = table.get(name, default)
        # Verify each is a positive whole number
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise AgentConfigError(f"royalties.{name}: a positive integer")
        values.append(value)
    return values[0], values[1]


def is_listed(listed: set[str], skill_id: str) -> bool:
    """Whether a device's skill list names `skill_id` (lowercase): by id, or mycroft-core's
    folder name `<name>.<author>` for msm's `<name>`."""
    return skill_id in listed or skill_id.rsplit(".", 1)[0] in listed


class RoyaltyTally:
    """The owner's pending skill uses (kept encrypted in the agent's store). Thread-safe."""

    def __init__(
        self,
        agent: Agent,
        *,
        threshold: int = DEFAULT_SETTLE_THRESHOLD,
        period: int = DEFAULT_SETTLE_PERIOD,
    ) -> None:
        self.agent = agent
        self.store = agent.store
        self.threshold = threshold
        self.period = period
        self._lock = threading.Lock()
        self._settling = threading.Lock()

    # --- the tally ------------------------------------------------------------------------------

    def _get(self, key: str) -> dict[str, Any]:
        found = self.store.get_json(NS, key)
        return found if isinstance(found, dict) else {}

    def pending(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._get("pending").items()}

    def settled(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._get("settled").items()}

    def uses_today(self, at: int) -> dict[str, int]:
        today = self._get("today")
        if today.get("day") != at // DAY_SECONDS:
            return {}
        return {k: int(v) for k, v in today.get("counts", {}).items()}

    def record_use(self, device: DeviceSession, skill_id: str, at: int) -> bool:
        """One use of `skill_id` reported by `device` at unix time `at`: counted or not (the
        module docstring says when). Whether it was counted."""
        from voxpop.agent.skill_settings import skill_sync
        from voxpop.chain.modules.skills import is_skill_id

        sid = skill_id.strip().lower()
        # Verify the owner opted in to counting skill use
        if not self.agent.config.opt_in.skill_usage:
            return False
        # Verify the chain could pay this id
        if not is_skill_id(sid):
            return False
        # Verify the skill is in the device's skill list
        if not is_listed(skill_sync(self.agent).listed_ids(device.uuid), sid):
            return False
        with self._lock:
            day = at // DAY_SECONDS
            counts = self.uses_today(at)
            # Verify the skill is under the owner's daily cap for it
            if counts.get(sid, 0) >= self.agent.config.skill_use_cap(sid):
                return False
            counts[sid] = counts.get(sid, 0) + 1
            self.store.put_json(NS, "today", {"day": day, "counts": counts})
            pending = self.pending()
            pending[sid] = pending.get(sid, 0) + 1
            self.store.put_json(NS, "pending", pending)
            due = sum(pending.values()) >= self.threshold
        if due:
            self.settle_in_background()
        return True

    # --- settling -------------------------------------------------------------------------------

    def is_due(self, now: float) -> bool:
        pending = self.pending()
        if not pending:
            return False
        last = self._get("last").get("at")
        if sum(pending.values()) >= self.threshold:
            return True
        # The first pending use starts the period when nothing was settled yet
        started = last if isinstance(last, int | float) else self._started(now)
        return now - started >= self.period

    def _started(self, now: float) -> float:
        with self._lock:
            started = self._get("last").get("pending_since")
            if not isinstance(started, int | float):
                started = now
                self.store.put_json(NS, "last", {"pending_since": started})
        return float(started)

    def settle_if_due(self) -> Settlement | None:
        """The sync hook: settle when the threshold or the period says so."""
        if not self.is_due(self.agent.clock()):
            return None
        return self.settle()

    def settle_in_background(self) -> None:
        if self._settling.locked():
            return
        thread = threading.Thread(target=self._settle_quietly, name="royalties", daemon=True)
        thread.start()

    def _settle_quietly(self) -> None:
        try:
            self.settle()
        except AgentError as exc:
            log.info("royalties not settled yet: %s (%s)", exc.code, exc)
        except Exception as exc:  # a node's bad answer: the next pass tries again
            log.warning("royalties not settled yet: %r", exc)

    def settle(self) -> Settlement:
        """Pay every pending use: `skills/Settle` messages (64 skills each) as the owner under
        the grant. Uses of skills the chain does not know (or retired) are dropped. Uses counted
        while this runs stay pending. Raises ChainUnavailableError, ChainRejectedError (what was
        sent before stays settled)."""
        from voxpop.chain.modules.skills import settle_msgs

        with self._settling:
            pending = self.pending()
            if not pending:
                return Settlement()
            payable: dict[str, int] = {}
            dropped: dict[str, int] = {}
            for sid, count in sorted(pending.items()):
                (payable if self._payable(sid) else dropped)[sid] = count
            if dropped:
                self._take(dropped, settled=False)
                log.info(
                    "royalties: %d skills are not registered; their uses pay no one", len(dropped)
                )
            txs = []
            chain = self.agent.chain
            for msg in settle_msgs(chain.owner, payable):
                result = chain.send([msg])
                # Verify the settlement landed (one refused entry refuses the whole message)
                if result.code != 0:
                    raise ChainRejectedError(f"[{result.code}] {result.log}")
                self._take({sid: n for sid, n in msg.uses}, settled=True)
                txs.append(result.tx_hash.hex())
            with self._lock:
                self.store.put_json(NS, "last", {"at": self.agent.clock()})
            return Settlement(payable, dropped, tuple(txs))

    def _payable(self, sid: str) -> bool:
        """Whether `sid` is registered and active, proven."""
        from voxpop.chain.modules.skills.state import decode_skill

        def read(client: VoxClient) -> bytes:
            return client.query("/skills/skill", sid.encode(), prove=True).value

        raw = self.agent.chain.call(read)
        return bool(raw) and not decode_skill(raw).retired

    def _take(self, counts: Mapping[str, int], *, settled: bool) -> None:
        """Move `counts` out of the pending tally (into the settled totals when paid)."""
        with self._lock:
            pending = self.pending()
            totals = self.settled()
            for sid, n in counts.items():
                left = pending.get(sid, 0) - n
                if left > 0:
                    pending[sid] = left
                else:
                    pending.pop(sid, None)
                if settled:
                    totals[sid] = totals.get(sid, 0) + n
            self.store.put_json(NS, "pending", pending)
            self.store.put_json(NS, "settled", totals)


_TALLIES: weakref.WeakKeyDictionary[Agent, RoyaltyTally] = weakref.WeakKeyDictionary()
_TALLIES_LOCK = threading.Lock()


def tally_of(agent: Agent) -> RoyaltyTally:
    """The agent's tally, made on first use (settling when due on each sync pass)."""
    with _TALLIES_LOCK:
        tally = _TALLIES.get(agent)
        if tally is None:
            threshold, period = royalty_settings(agent)
            tally = RoyaltyTally(agent, threshold=threshold, period=period)
            _TALLIES[agent] = tally
            agent.syncer.add_hook(functools.partial(_hook, tally))
        return tally


def _hook(tally: RoyaltyTally) -> None:
    tally.settle_if_due()


def record_use(agent: Agent, device: DeviceSession, skill_id: str, at: int | None = None) -> bool:
    """One use of `skill_id` on `device` (what the metrics route calls for an intent handler's
    timing metric). Whether it was counted for royalties."""
    when = int(agent.clock()) if at is None else at
    return tally_of(agent).record_use(device, skill_id, when)
