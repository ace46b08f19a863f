"""Running a node under CometBFT: serve the app over ABCI, start and supervise `cometbft start`.

Either process ending stops the other: if CometBFT exits, the ABCI server is closed; if the ABCI
server hits a fatal error or we get SIGINT/SIGTERM, CometBFT gets SIGTERM (then SIGKILL after a
grace period). On Linux CometBFT is killed if this process dies without cleaning up (kill -9);
elsewhere a CometBFT left over from such a run is stopped before the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxpop.chain.abci import Application
from voxpop.node.cometbft.binary import CometBFTError, check_cometbft_version, find_cometbft
from voxpop.node.cometbft.config import load_comet_settings
from voxpop.node.cometbft.home import prepare_cometbft_home
from voxpop.node.cometbft.service import CometNodeService
from voxpop.node.home import NodeHome

if TYPE_CHECKING:
    from voxpop.node.config import ApiConfig

# The package's name, not this file's: operators grep their logs for it (docs/operations/node.md).
log = logging.getLogger("voxpop.node.cometbft")

STOP_GRACE_SECONDS = 15.0


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn for the CometBFT child: be killed when the parent dies, even by kill -9
    (Linux `prctl(PR_SET_PDEATHSIG, SIGKILL)`). None elsewhere.

    SIGKILL, not SIGTERM: without its app CometBFT cannot progress, and a graceful stop can hang
    on a consensus call the dead app will never answer. Its stores are crash-safe; the next
    start's handshake replays whatever the app lacks. libc is resolved here, in the parent, so
    the forked child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def preexec() -> None:  # pragma: no cover - runs in the forked child
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_cometbft(pid: int, cdir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"cometbft") and str(cdir).encode() in cmdline


def stop_stale_cometbft(home: NodeHome, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop a CometBFT that a previous run of this node started and left behind (its pid file
    names it, and it is still `cometbft ... --home HOME/cometbft`)."""
    pid_file = home.cometbft_dir / "cometbft.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    cdir = home.cometbft_dir.resolve()
    if _pid_alive(pid) and _is_our_cometbft(pid, cdir):
        log.warning("stopping CometBFT left over from a previous run (pid %d)", pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _pid_alive(pid) and _is_our_cometbft(pid, cdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid) and _is_our_cometbft(pid, cdir):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


async def _stop_process(proc: asyncio.subprocess.Process, grace: float) -> int:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            log.warning("CometBFT did not stop within %.0fs; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


ApiRunner = Callable[["CometNodeService"], Awaitable[None]]


def _open_default_app(home: NodeHome) -> Application:
    try:
        factory = importlib.import_module("voxpop.node.app_factory")
    except ImportError as exc:
        raise CometBFTError(
            "voxpop.node.app_factory is not available; pass app= or --app module:factory"
        ) from exc
    app: Application = factory.open_app(home)
    return app


def http_api_runner(host: str, port: int, config: ApiConfig | None = None) -> ApiRunner:
    """Serve voxpop's HTTP API (`voxpop.api.server.serve_api`) over the CometNodeService, with
    the home's `[api]` limits (`config`; default: ApiConfig's defaults)."""

    async def run(service: CometNodeService) -> None:
        from voxpop.api.server import serve_api

        log.info("HTTP API on http://%s:%d", host, port)
        await serve_api(service, host, port, config=config)

    return run


async def run_cometbft_node_async(
    home: NodeHome,
    *,
    app: Application | None = None,
    api: ApiRunner | None = None,
    serve_http_api: bool = True,
    api_host: str | None = None,
    api_port: int | None = None,
    binary: Path | None = None,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> int:
    """The async body of run_cometbft_node; see there."""
    from voxpop.abci.event_index import EventIndex
    from voxpop.abci.server import AbciServer

    binary = binary or find_cometbft()
    check_cometbft_version(binary)
    settings = load_comet_settings(home)
    prepared = prepare_cometbft_home(home, settings, binary)
    cdir = prepared.path
    stop_stale_cometbft(home, stop_grace)
    if api is None and serve_http_api:
        from voxpop.node.config import load_config

        api = http_api_runner(
            api_host or settings.api_host,
            api_port if api_port is not None else settings.api_port,
            load_config(home.config_toml).api,
        )
    opened_here = app is None
    app = app if app is not None else _open_default_app(home)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason: list[str] = []

    def request_stop(why: str) -> None:
        if not stop.is_set():
            reason.append(why)
            stop.set()

    def on_fatal(exc: BaseException) -> None:
        from voxpop.chain.modules.gov.upgrades import UpgradeRequired
        from voxpop.node.app_factory import UPGRADES_ENV

        if isinstance(exc, UpgradeRequired):
            # Not a crash: the chain planned this halt. Say what to run (the block stays
            # uncommitted in the app; CometBFT replays it to the upgraded version at restart).
            log.error("%s; restart with $%s naming a module that registers it", exc, UPGRADES_ENV)
        request_stop(f"fatal ABCI error: {exc}")

    from voxpop.node.snapshots.service import open_snapshot_service

    server = AbciServer(
        app,
        on_fatal=on_fatal,
        snapshots=open_snapshot_service(home, app),
        index_events=EventIndex.parse(settings.index_events),
    )
    await server.start(prepared.proxy_app)
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, request_stop, f"signal {sig.name}")
            handled.append(sig)

    pid_file = cdir / "cometbft.pid"
    log_path = cdir / "cometbft.log"
    service = CometNodeService(
        prepared.rpc_url, prepared.chain_id, lambda req: server.call_app(app.query, req)
    )
    proc: asyncio.subprocess.Process | None = None
    api_task: asyncio.Task[None] | None = None
    exit_code = 0
    try:
        with log_path.open("ab") as log_file:
            proc = await asyncio.create_subprocess_exec(
                str(binary),
                "start",
                "--home",
                str(cdir.resolve()),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(),  # before any app call: no app threads yet
                start_new_session=True,  # the terminal's Ctrl-C reaches us, and we stop it
            )
        pid_file.write_text(f"{proc.pid}\n")
        log.info("started CometBFT (pid %d), log %s", proc.pid, log_path)

        waits: dict[asyncio.Future[Any], str] = {
            asyncio.ensure_future(proc.wait()): "cometbft",
            asyncio.ensure_future(stop.wait()): "stop",
        }
        if api is not None:
            api_task = asyncio.ensure_future(api(service))
            waits[api_task] = "api"
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        first = waits[next(iter(done))]
        for fut in waits:
            if fut is not api_task and not fut.done():
                fut.cancel()
        if first == "cometbft":
            exit_code = proc.returncode or 1
            log.error("CometBFT exited with code %s; see %s", proc.returncode, log_path)
        elif first == "api":
            assert api_task is not None
            exc = api_task.exception()
            exit_code = 1 if exc is not None else 0
            log.log(logging.ERROR if exc else logging.INFO, "API stopped: %r", exc)
        else:
            exit_code = 1 if reason and reason[0].startswith("fatal") else 0
            log.info("stopping: %s", reason[0] if reason else "requested")
    finally:
        if api_task is not None and not api_task.done():
            api_task.cancel()
            with contextlib.suppress(BaseException):
                await api_task
        if proc is not None:
            code = await _stop_process(proc, stop_grace)
            log.info("CometBFT stopped (exit code %d)", code)
            pid_file.unlink(missing_ok=True)
        await service.aclose()
        await server.close()
        for sig in handled:
            loop.remove_signal_handler(sig)
        close = getattr(app, "close", None)
        if opened_here and callable(close):
            close()
    return exit_code


def _tune_gc() -> None:
    """Collect garbage less often in the node process (a tuning of this process only).

    Under load the node makes several short-lived objects per tx (decoded txs, branches, ABCI
    messages) and keeps many long-lived ones (the tx cache, the state cache); with CPython's
    default thresholds the collector ran every few hundred allocations and walked them all,
    about 6 % of the node's CPU (perf, docs/benchmarks.md). What exists at start is frozen out
    of collection, and collections run after 50,000 net allocations, not 700.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run_cometbft_node(
    home: NodeHome,
    *,
    app: Application | None = None,
    api: ApiRunner | None = None,
    serve_http_api: bool = True,
    api_host: str | None = None,
    api_port: int | None = None,
    binary: Path | None = None,
) -> int:
    """Run a node under CometBFT until SIGINT/SIGTERM or either side stops; return an exit code.

    Prepares HOME/cometbft, serves `app` (default: `voxpop.node.app_factory.open_app(home)`,
    closed on exit) on the ABCI socket, starts `cometbft start --home HOME/cometbft` (output in
    HOME/cometbft/cometbft.log), and runs the HTTP API alongside over a CometNodeService: by
    default `voxpop.api.server.serve_api` on `api_host`/`api_port` (default: [api] in
    config.toml), or `api(service)` if given, or none with `serve_http_api=False`.

    Exit code: 0 after a requested stop, CometBFT's exit code (or 1) if it died, 1 after a fatal
    ABCI error or if the API failed (e.g. its port is taken).

    Raises CometBFTError (binary missing, wrong version, init failed), GenesisError, ConfigError,
    OSError (ABCI port in use) before anything is started.
    """
    _tune_gc()
    return asyncio.run(
        run_cometbft_node_async(
            home,
            app=app,
            api=api,
            serve_http_api=serve_http_api,
            api_host=api_host,
            api_port=api_port,
            binary=binary,
        )
    )
