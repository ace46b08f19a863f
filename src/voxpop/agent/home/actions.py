"""Owner actions and agent actions, and the progress of the tx each sends.

The key custody table (docs/keys.md) decides which one a page uses:

- `owner_action`: a message only the owner signs (claim, rename, remove a device, the owner's
  settings). With the owner key unlocked in this session it is signed here and sent; otherwise
  the page shows the one `voxpop ...` command that signs and sends it where the key lives. The
  messages are built either way (with the agent's settings wrap when the key is not here), so a
  bad input is refused in words before any command is shown.
- `agent_action`: a message the agent sends under the owner's grant (authz/Exec signed by the
  agent key, fees from the owner's allowance).

Both return an ActionResult the `home/_tx.html` fragment shows: submitted (then polled at
/tx/<hash> until committed at height H), committed, failed, the command to run, or an error, in
words (words.py).
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fastapi import Request

from voxpop.agent.errors import AgentError, ChainRejectedError, ChainUnavailableError
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.words import in_words
from voxpop.chain.errors import error_name
from voxpop.client.devices import OwnerDevices, estimate_gas
from voxpop.client.errors import ApiError, NotFoundError, VoxClientError

if TYPE_CHECKING:
    from voxpop.chain.module import Msg
    from voxpop.client.sync import VoxClient

log = logging.getLogger(__name__)

State = Literal["submitted", "committed", "failed", "command", "error"]


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a page shows after an action (home/_tx.html)."""

    state: State
    what: str  # "Pair the device", "Save the settings": the action in the owner's words
    tx_hash: str = ""
    height: int = 0
    code: str = ""
    command: str = ""

    @property
    def words(self) -> str:
        return in_words(self.code) if self.code else ""

    @property
    def done(self) -> bool:
        """No more progress to wait for."""
        return self.state != "submitted"


def owner_action(
    request: Request,
    session: Session,
    *,
    what: str,
    build: Callable[[OwnerDevices], Sequence[Msg]],
    command: Sequence[str],
    options: Sequence[str] | None = None,
    gas_limit: int | None = None,
) -> ActionResult:
    """Sign and send the owner's `build(flows)` messages with the session's owner key, or, when
    the key is not unlocked here, the command that does it where the key lives (`command`: the
    arguments after `voxpop`, e.g. ["device", "claim", code]; then `options`, by default
    `Home.cli_options()`: --node and --key; `voxpop tx ...` commands take the key as FROM in
    `command` and pass `options=home.node_options()`). `gas_limit`: default estimate_gas(msgs).

    `flows` reads with proofs through the node that takes the tx; with the key it is the owner's
    own, else the agent's (which reads through its settings wrap: the same messages)."""
    home = home_of(request)
    agent = home.agent
    key = session.owner_key

    def submit(client: VoxClient) -> ActionResult:
        reader = key if key is not None else agent.key
        flows = OwnerDevices(client, reader, owner=agent.owner)
        msgs = list(build(flows))
        if key is None:
            extra = home.cli_options() if options is None else list(options)
            argv = ["voxpop", *command, *extra]
            return ActionResult("command", what, command=shlex.join(argv))
        gas = gas_limit if gas_limit is not None else estimate_gas(msgs)
        result = client.execute(key, msgs, gas_limit=gas, mode="sync")
        if result.code != 0:
            return ActionResult("failed", what, result.tx_hash.hex(), code=error_name(result.code))
        return ActionResult("submitted", what, result.tx_hash.hex())

    return _guarded(what, lambda: agent.chain.call(submit))


def agent_action(
    request: Request, *, what: str, build: Callable[[VoxClient], Sequence[Msg]]
) -> ActionResult:
    """Send the owner's `build(client)` messages in one authz/Exec signed by the agent key (under
    the owner's grant); waits for the block (the agent's own sends are serialized)."""
    agent = home_of(request).agent

    def send() -> ActionResult:
        result = agent.chain.send_with(build)
        if result.code != 0:
            return ActionResult("failed", what, result.tx_hash.hex(), code=error_name(result.code))
        return ActionResult("committed", what, result.tx_hash.hex(), height=result.height)

    return _guarded(what, send)


def tx_status(request: Request, tx_hash: str, what: str = "") -> ActionResult:
    """Where the tx `tx_hash` is: committed at a height (or failed there), else still submitted."""
    agent = home_of(request).agent

    def look() -> ActionResult:
        try:
            record = agent.chain.call(lambda c: c.tx(tx_hash))
        except NotFoundError:
            return ActionResult("submitted", what, tx_hash)
        code = record.result.code
        if code != 0:
            return ActionResult("failed", what, tx_hash, record.height, error_name(code))
        return ActionResult("committed", what, tx_hash, record.height)

    return _guarded(what, look)


def _guarded(what: str, run: Callable[[], ActionResult]) -> ActionResult:
    """`run()`, with every expected failure turned into an error result with a stable code."""
    try:
        return run()
    except ChainUnavailableError:
        return ActionResult("error", what, code="chain_unavailable")
    except ChainRejectedError as exc:
        # The agent's ChainView keeps the node's refusal (with its code) as the context
        refused = exc.__context__
        code = getattr(refused, "code", None)
        return ActionResult("error", what, code=code if isinstance(code, str) else "chain_rejected")
    except ApiError as exc:
        return ActionResult("error", what, code=str(getattr(exc, "code", "") or "chain_error"))
    except VoxClientError as exc:
        code = getattr(exc, "code", None)
        return ActionResult("error", what, code=code if isinstance(code, str) else "chain_error")
    except AgentError as exc:
        log.warning("home action %r: %s", what, exc.code)
        return ActionResult("error", what, code=exc.code)
