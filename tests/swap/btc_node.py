"""A real btcd in regtest for the Bitcoin leg's tests: its own data dir and free port, RPC over
plain HTTP on 127.0.0.1 (--notls), the tx and address indexes the leg reads, and a miner key the
test holds (blocks are mined on demand with `generate`, paying that key).

    node = BtcNode.start(tmp_path / "btcd")
    node.mine(101)          # the first coinbase matures
    ...
    node.stop()
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bitcoin.wallet import CKey

from voxpop.client.testing import free_port
from voxpop.swap.btc_errors import BtcError
from voxpop.swap.btc_rpc import BtcRpc
from voxpop.swap.btc_script import p2wpkh_script_pubkey, segwit_address
from voxpop.swap.btc_wallet import BtcWallet

NETWORK = "regtest"
START_TIMEOUT = 60.0


def btcd_binary() -> str | None:
    """btcd on PATH, else in the Go path where scripts/install_btcd.sh puts it."""
    found = shutil.which("btcd")
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidate = Path(gopath) / "bin" / "btcd"
    return str(candidate) if candidate.exists() else None


@dataclass
class BtcNode:
    home: Path
    port: int
    user: str
    password: str
    miner_secret: bytes
    process: subprocess.Popen[bytes]
    _log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self) -> BtcRpc:
        return BtcRpc(self.url, self.user, self.password)

    @classmethod
    def start(cls, home: Path) -> BtcNode:
        binary = btcd_binary()
        if binary is None:
            raise RuntimeError("btcd is not installed: run scripts/install_btcd.sh")
        home.mkdir(parents=True, exist_ok=True)
        miner_secret = secrets.token_bytes(32)
        miner_address = segwit_address(
            bytes(p2wpkh_script_pubkey(bytes(CKey(miner_secret).pub))), NETWORK
        )
        port, user, password = free_port(), "voxpop", secrets.token_hex(16)
        argv = [
            binary,
            "--regtest",
            f"--datadir={home / 'data'}",
            f"--logdir={home / 'logs'}",
            f"--rpcuser={user}",
            f"--rpcpass={password}",
            "--notls",
            f"--rpclisten=127.0.0.1:{port}",
            "--nolisten",
            "--txindex",
            "--addrindex",
            f"--miningaddr={miner_address}",
        ]
        log = (home / "btcd.log").open("ab")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        node = cls(home, port, user, password, miner_secret, process, log)
        try:
            node._wait_ready()
        except BaseException:
            node.stop()
            raise
        return node

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with self.rpc() as rpc:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"btcd exited with {self.process.returncode}: {self.log()}")
                with contextlib.suppress(BtcError):
                    rpc.block_count()
                    return
                time.sleep(0.1)
        raise RuntimeError(f"btcd did not answer within {START_TIMEOUT} s: {self.log()}")

    def mine(self, blocks: int = 1) -> None:
        with self.rpc() as rpc:
            rpc.generate(blocks)

    @contextlib.contextmanager
    def mining(self, interval: float = 1.0) -> Iterator[None]:
        """A block every `interval` seconds in a background thread (a chain whose time moves on
        by itself, as the swap tool expects), until the block ends."""
        stop = threading.Event()

        def run() -> None:
            with self.rpc() as rpc:
                while not stop.wait(interval):
                    with contextlib.suppress(BtcError):
                        rpc.generate(1)

        thread = threading.Thread(target=run, name="btcd-miner", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(10)

    def miner_wallet(self, rpc: BtcRpc) -> BtcWallet:
        return BtcWallet(rpc, CKey(self.miner_secret), NETWORK)

    def fund(self, pubkey: bytes, amount: int) -> str:
        """Pay `amount` sat to `pubkey`'s P2WPKH address from the mined coins; mined in a block."""
        with self.rpc() as rpc:
            txid, _ = self.miner_wallet(rpc).pay(bytes(p2wpkh_script_pubkey(pubkey)), amount, 2)
            rpc.generate(1)
        return txid

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.home / "btcd.log").read_text(errors="replace")[-4000:]
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
