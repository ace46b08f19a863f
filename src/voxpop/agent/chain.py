"""The agent's view of the chain: light-client reads from several nodes, failing over, with a
verified cache so reads keep answering when no node does; writes as the owner's messages wrapped
in authz/Exec and signed by the agent key.

No node is trusted: every read is proven (VoxClient checks proofs against headers its light
client verified), so the cache only ever holds what was proven, and any reachable node will do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from voxpop.agent.config import AgentConfig
from voxpop.agent.errors import ChainRejectedError, ChainUnavailableError
from voxpop.agent.store import LocalStore
from voxpop.crypto.keys import PrivateKey

if TYPE_CHECKING:
    from voxpop.chain.module import Msg
    from voxpop.client.payments import PayingClient
    from voxpop.client.settings import SettingsVault
    from voxpop.client.sync import VoxClient
    from voxpop.node.service import BroadcastResult

log = logging.getLogger(__name__)
T = TypeVar("T")

CACHE_NS = "chain-cache"  # verified reads: settings records by name, device records by id
VALIDATOR_KEYS = "validator-keys"
GAS_BASE = 150_000
GAS_PER_BYTE = 40


class ChainView:
    """The chain as the agent sees it (thread-safe: requests run in a thread pool)."""

    def __init__(
        self,
        config: AgentConfig,
        agent_key: PrivateKey,
        store: LocalStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.agent_key = agent_key
        self.agent = agent_key.public_key.address
        self.owner = config.owner
        self.store = store
        self.clock = clock
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._clients: list[VoxClient] | None = None
        self._vaults: dict[int, SettingsVault] = {}
        self._preferred = 0  # the node that answered last
        self._payer: PayingClient | None = None
        self.last_online: float | None = None  # when a node last answered

    # --- nodes ---

    @property
    def clients(self) -> list[VoxClient]:
        with self._lock:
            if self._clients is None:
                from voxpop.client.sync import VoxClient

                keys = self.config.trusted_validator_keys or self.pinned_validator_keys()
                self._clients = [
                    VoxClient(
                        url, chain_id=self.config.chain_id, trusted_validator_keys=keys, timeout=5.0
                    )
                    for url in self.config.nodes
                ]
            return self._clients

    def call(self, fn: Callable[[VoxClient], T]) -> T:
        """`fn` on the first node that answers, starting with the last one that did.

        Raises ChainUnavailableError when no node is reachable; a node's own answer (a rejected
        tx, a failed proof) is raised as it is after trying the others for proof failures."""
        from voxpop.client.errors import NodeUnreachableError, ProofVerificationError

        clients = self.clients
        order = [(self._preferred + i) % len(clients) for i in range(len(clients))]
        failures: list[str] = []
        for index in order:
            try:
                result = fn(clients[index])
            except NodeUnreachableError as exc:
                failures.append(str(exc))
                continue
            except ProofVerificationError as exc:
                # A node that cannot prove its answer is skipped like one that is down
                log.warning("node %s: %s", self.config.nodes[index], exc)
                failures.append(f"{self.config.nodes[index]}: {exc}")
                continue
            self._preferred = index
            self.last_online = self.clock()
            self._pin_validator_keys(clients[index])
            return result
        raise ChainUnavailableError("no node answered: " + "; ".join(failures))

    # --- whom proofs must be signed by ---

    def pinned_validator_keys(self) -> tuple[bytes, ...] | None:
        """The validator keys learned from the first node that ever answered (None: not yet)."""
        raw = self.store.get(CACHE_NS, VALIDATOR_KEYS)
        if not raw:
            return None
        return tuple(raw[i : i + 32] for i in range(0, len(raw), 32))

    def _pin_validator_keys(self, client: VoxClient) -> None:
        """Trust on first use, once for all nodes: the keys the first node that answered named
        sign every proof from every node from then on (and after restarts); configure
        `trusted_validator_keys` to trust no node at all."""
        learned = client.trust.validator_keys
        if learned is None or self.config.trusted_validator_keys:
            return
        for other in self.clients:
            if other.trust.validator_keys is None:
                other.trust.validator_keys = learned
        if self.pinned_validator_keys() is None:
            self.store.put(CACHE_NS, VALIDATOR_KEYS, b"".join(sorted(learned)))

    @property
    def preferred(self) -> int:
        """The index of the node that answered last (asked first next time)."""
        return self._preferred

    @property
    def online(self) -> bool:
        """Whether a node answers now (a status call to each in turn)."""
        try:
            self.call(lambda c: c.status())
        except ChainUnavailableError:
            return False
        return True

    # --- settings, through the vault ---

    def vault(self, client: VoxClient) -> SettingsVault:
        with self._lock:
            vault = self._vaults.get(id(client))
            if vault is None:
                from voxpop.client.settings import SettingsVault

                vault = SettingsVault(client, self.owner, self.agent_key)
                self._vaults[id(client)] = vault
            return vault

    def read_record(self, name: str, *, refresh: bool = False) -> bytes | None:
        """The owner's settings record `name`, decrypted: from the verified cache while it was
        proven less than `cache_fresh_seconds` ago (the sync keeps it fresh), else proven from a
        node, else, when no node answers, the cache however old. Raises ChainUnavailableError
        when no node answers and it was never read."""
        if not refresh:
            cached = self._cached(name)
            fresh_for = self.config.cache_fresh_seconds
            if cached is not None and self.clock() - cached[0] <= fresh_for:
                return cached[1]
        try:
            value = self.call(lambda c: self.vault(c).read(name))
        except ChainUnavailableError:
            return self.cached_record(name)
        self._cache_record(name, value)
        return value

    def cached_record(self, name: str) -> bytes | None:
        """The record as last proven (no node asked). Raises ChainUnavailableError if never read."""
        cached = self._cached(name)
        if cached is None:
            raise ChainUnavailableError(f"no node answered and {name!r} was never read")
        return cached[1]

    def _cached(self, name: str) -> tuple[float, bytes | None] | None:
        """(when it was proven, the plaintext or None for proven absent); None: never read."""
        raw = self.store.get(CACHE_NS, "record/" + name)
        # Verify the row has the layout _cache_record writes (an older one is read again)
        if raw is None or len(raw) < 9:
            return None
        at = int.from_bytes(raw[:8], "big") / 1000
        return at, (raw[9:] if raw[8] == 1 else None)

    def _cache_record(self, name: str, value: bytes | None) -> None:
        # When (ms, u64 BE), then 0x00 = proven absent, or 0x01 and the plaintext
        at = int(self.clock() * 1000).to_bytes(8, "big")
        row = at + (b"\x00" if value is None else b"\x01" + value)
        self.store.put(CACHE_NS, "record/" + name, row)

    def put_record(self, name: str, plaintext: bytes) -> BroadcastResult:
        """settings/Put of `name` as the owner (under the grant). The cache takes the new value
        at once, so the agent's own edits read back even before a node sees the block."""
        result = self.send_with(lambda c: [self.vault(c).put_msg(name, plaintext)])
        self._cache_record(name, plaintext)
        return result

    # --- writes ---

    def send(self, msgs: Sequence[Msg]) -> BroadcastResult:
        """Send the owner's `msgs` in one authz/Exec signed by the agent key, fees paid by the
        owner's fee allowance. Raises ChainRejectedError, ChainUnavailableError."""
        return self.send_with(lambda _c: list(msgs))

    def send_with(self, build: Callable[[VoxClient], Sequence[Msg]]) -> BroadcastResult:
        """Like send, with the messages built against the node that takes the tx (a settings
        Put needs that node's view of the record's version)."""
        from voxpop.chain.encoding import encode
        from voxpop.client.errors import TxRejectedError
        from voxpop.client.tx import msg_authz_exec

        def submit(client: VoxClient) -> BroadcastResult:
            msgs = build(client)
            inner = [(m.TYPE, m.to_value()) for m in msgs]
            size = sum(len(encode(v)) for _t, v in inner)
            return client.execute(
                self.agent_key,
                [msg_authz_exec(self.agent, inner)],
                gas_limit=GAS_BASE + GAS_PER_BYTE * size,
                fee_granter=self.owner,
            )

        with self._send_lock:  # one sequence number at a time
            try:
                return self.call(submit)
            except TxRejectedError as exc:
                raise ChainRejectedError(str(exc)) from None

    # --- paid calls ---

    @property
    def payer(self) -> PayingClient:
        """The paying client: channels funded by the owner (opened under the grant), vouchers
        signed by the agent key (the key each channel names)."""
        with self._lock:
            if self._payer is None:
                from voxpop.agent.payer import AgentPayingClient

                self._payer = AgentPayingClient(self)
            return self._payer

    def close(self) -> None:
        with self._lock:
            if self._payer is not None:
                self._payer.close()
            for client in self._clients or []:
                client.close()
            self._clients = None
            self._vaults.clear()
            self._payer = None


def cache_put_json(store: LocalStore, key: str, value: Any) -> None:
    store.put_json(CACHE_NS, key, value)


def cache_get_json(store: LocalStore, key: str) -> Any:
    return store.get_json(CACHE_NS, key)
