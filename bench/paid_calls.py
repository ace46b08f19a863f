"""Benchmark: paid calls per second through one provider process, against the same server unpaid.

Starts a real solo node and a real provider (`voxpop provider start --engine echo --bench-unpaid`),
opens one payment channel per load connection on chain (one tx), then drives the provider from a
load generator in another process: an asyncio raw-socket HTTP/1.1 client, several keep-alive
connections, one request in flight on each. Vouchers (cumulative amounts in order, one channel
per connection) are signed before the clock starts.

    1. baseline: the generator alone against a trivial server (it must not be the bottleneck)
    2. unpaid and paid at the highest rate (closed loop)
    3. unpaid and paid at half the unpaid maximum (open loop, paced; latency from the scheduled
       send time, so a slow server cannot hide its queue): added latency = paid p50 - unpaid p50

    python bench/paid_calls.py [--seconds S] [--connections 16,64] [--price P]

The maximum rates are the best over the connection counts given (the paid path commits each
voucher before it answers, grouping the calls in flight: more connections, bigger groups).

Last line: paid_calls_per_s=<n> unpaid_calls_per_s=<n> added_latency_ms_p50=<ms>
onchain_txs_per_million_calls=<n>
(the on-chain figure: how docs/benchmarks.md "Paid calls" says.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from nacl.signing import SigningKey

from voxpop.chain.modules.channels.messages import MsgOpen
from voxpop.cli.keyring import KeyringBackendChoice, open_keyring
from voxpop.client import VoxClient
from voxpop.client.payments.policy import Policy
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import PrivateKey, encode_address
from voxpop.crypto.vouchers import voucher_sign_bytes
from voxpop.provider.testing import LocalProvider

PAYER = PrivateKey(bytes([41]) * 32)
VOUCHER_KEY = PrivateKey(bytes([42]) * 32)
PROVIDER = PrivateKey(bytes([43]) * 32)
FUNDS = 10**15
BODY = b'{"text":"what is the weather in Lisbon tomorrow"}'
MAX_RATE_GUESS = 12_000  # requests/s: how many vouchers to presign for a max-rate phase
# The provider claims once this much is owed (its default is 1 VOX): 2.5 VOX keeps a million calls
# at 10 uvox to 4 claims; the payer's settle window protects what is not claimed yet
CLAIM_THRESHOLD = 2_500_000


# --- the load generator (runs in its own process) ------------------------------------------------


@dataclass
class Phase:
    port: int
    path: str
    seconds: float
    connections: int
    rate: float | None = None  # total requests/s; None: as fast as answers come back
    # paid: one channel per connection, amounts start after `start_amounts[i]`
    chain_id: str = ""
    channels: list[str] | None = None
    start_amounts: list[int] | None = None
    price: int = 0
    voucher_seed: str = ""


def _request(path: str, extra: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n{extra}\r\n"
    )
    return head.encode() + BODY


def presign(phase: Phase, per_connection: int) -> list[list[bytes]]:
    """Every request each connection may send, vouchers signed in order (before timing)."""
    if phase.channels is None:
        req = _request(phase.path, "")
        return [[req] * per_connection for _ in range(phase.connections)]
    assert phase.start_amounts is not None
    key = SigningKey(bytes.fromhex(phase.voucher_seed))
    out = []
    for cid_hex, start in zip(phase.channels, phase.start_amounts, strict=True):
        cid = bytes.fromhex(cid_hex)
        reqs = []
        for i in range(1, per_connection + 1):
            amount = start + i * phase.price
            sig = key.sign(voucher_sign_bytes(phase.chain_id, cid, amount)).signature
            extra = (
                f"X-Vox-Channel: {cid_hex}\r\nX-Vox-Amount: {amount}\r\n"
                f"X-Vox-Voucher: {sig.hex()}\r\n"
            )
            reqs.append(_request(phase.path, extra))
        out.append(reqs)
    return out


def message_end(buf: bytes) -> int:
    """Where the first whole HTTP message in `buf` ends (-1: not all there yet). Bodies come
    with Content-Length or chunked."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return -1
    head = buf[:end].lower()
    start = end + 4
    at = head.find(b"content-length:")
    if at >= 0:
        eol = head.find(b"\r\n", at)
        total = start + int(head[at + 15 : eol if eol > 0 else len(head)])
        return total if len(buf) >= total else -1
    if b"transfer-encoding: chunked" not in head:
        return start
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size = int(buf[pos:eol].split(b";")[0], 16)
        pos = eol + 2 + size + 2
        if len(buf) < pos:
            return -1
        if size == 0:
            return pos


class Conn(asyncio.Protocol):
    """One keep-alive connection: send, read the whole answer, send the next."""

    def __init__(
        self, requests: list[bytes], stats: dict[str, Any], interval: float | None
    ) -> None:
        self.requests = requests
        self.stats = stats
        self.interval = interval
        self.i = 0
        self.buf = b""
        self.sent_at = 0.0
        self.next_at = 0.0
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.deadline = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def begin(self, deadline: float, offset: float) -> None:
        self.deadline = deadline
        if self.interval is None:
            self.send()
        else:
            self.next_at = time.perf_counter() + offset
            self.loop.call_later(offset, self.send)

    def send(self) -> None:
        now = time.perf_counter()
        if now >= self.deadline or self.i >= len(self.requests):
            if self.i >= len(self.requests):
                self.stats["exhausted"] += 1
            if not self.done.done():
                self.done.set_result(None)
            return
        # Paced: latency counts from when the request was due, not when it could go
        self.sent_at = self.next_at if self.interval is not None else now
        assert self.transport is not None
        self.transport.write(self.requests[self.i])
        self.i += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = message_end(self.buf)
        if end < 0:
            return
        now = time.perf_counter()
        status = self.buf[9:12]
        self.buf = self.buf[end:]
        if status == b"200":
            self.stats["ok"] += 1
            self.stats["latency"].append(now - self.sent_at)
        else:
            self.stats["errors"] += 1
            if len(self.stats["samples"]) < 3:
                self.stats["samples"].append(status.decode() + " " + repr(data[-200:]))
        if self.interval is None:
            self.send()
        else:
            self.next_at += self.interval
            if self.next_at <= now:
                self.send()
            else:
                self.loop.call_later(self.next_at - now, self.send)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.stats["errors"] += 1
            self.done.set_result(None)


async def drive(phase: Phase) -> dict[str, Any]:
    # Unpaid requests are all alike (no cost to have many); vouchers are signed for a ceiling
    rate_cap = phase.rate or (MAX_RATE_GUESS if phase.channels else 50 * MAX_RATE_GUESS)
    per_conn = math.ceil(rate_cap * phase.seconds * 1.2 / phase.connections) + 10
    requests = presign(phase, per_conn)
    stats: dict[str, Any] = {"ok": 0, "errors": 0, "exhausted": 0, "latency": [], "samples": []}
    loop = asyncio.get_running_loop()
    interval = phase.connections / phase.rate if phase.rate else None
    conns = []
    for reqs in requests:
        _, proto = await loop.create_connection(
            lambda r=reqs: Conn(r, stats, interval), "127.0.0.1", phase.port
        )
        conns.append(proto)
    start = time.perf_counter()
    deadline = start + phase.seconds
    for n, c in enumerate(conns):
        c.begin(deadline, (interval or 0) * n / len(conns))
    await asyncio.gather(*(c.done for c in conns))
    elapsed = time.perf_counter() - start
    # Wait for the answers still in flight, so the next phase's amounts follow on
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    lat = sorted(stats["latency"])
    return {
        "ok": stats["ok"],
        "errors": stats["errors"],
        "exhausted": stats["exhausted"],
        "samples": stats["samples"],
        "per_s": stats["ok"] / elapsed,
        "p50_ms": 1000 * statistics.median(lat) if lat else None,
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None,
        "sent": [c.i for c in conns],
    }


def loadgen_main(spec_path: str) -> None:
    """The generator process: run one phase, print its figures as JSON."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    phase = Phase(**json.loads(Path(spec_path).read_text()))
    print(json.dumps(asyncio.run(drive(phase))))


# --- a trivial server for the generator's baseline -----------------------------------------------


class Trivial(asyncio.Protocol):
    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = message_end(self.buf)
            if end < 0:
                return
            self.buf = self.buf[end:]
            self.transport.write(self.ANSWER)


def trivial_main(port: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Trivial, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


# --- the benchmark -------------------------------------------------------------------------------


def run_phase(phase: Phase, workdir: Path) -> dict[str, Any]:
    spec = workdir / "phase.json"
    spec.write_text(json.dumps(phase.__dict__))
    done = subprocess.run(
        [sys.executable, __file__, "loadgen", str(spec)], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def baseline(connections: int, seconds: float, workdir: Path) -> float:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "trivial", str(port)], stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        result = run_phase(Phase(port, "/", seconds, connections), workdir)
    finally:
        server.terminate()
        server.wait()
    per_s: float = result["per_s"]
    return per_s


def open_channels(vox: VoxClient, payee: bytes, count: int, deposit: int) -> list[str]:
    msgs = [
        MsgOpen(
            payer=PAYER.public_key.address,
            payee=payee,
            voucher_key=VOUCHER_KEY.public_key.raw,
            deposit=deposit,
        )
        for _ in range(count)
    ]
    ids: list[str] = []
    for first in range(0, count, 8):  # 8 opens a tx
        batch = msgs[first : first + 8]
        result = vox.execute(PAYER, batch, gas_limit=200_000 * len(batch))
        if result.code != 0:
            raise SystemExit(f"opening channels failed: {result.log}")
        ids += [v for e in result.events if (v := e.attr("channel_id")) is not None]
    assert len(ids) == count, ids
    return ids


def provider_home(home: Path) -> Path:
    """A provider home with the provider's account key in its test keyring."""
    open_keyring(home, KeyringBackendChoice.TEST).import_seed("provider", PROVIDER.seed)
    return home


def onchain_txs_per_million(price: int, policy: Policy, claim_threshold: int) -> int:
    """One payer, one provider, a million calls at `price`: the open, the top-ups the policy
    makes, and the claims the provider makes at its threshold."""
    total = 1_000_000 * price
    top_ups = math.ceil(max(0, total - policy.deposit) / policy.top_up_amount)
    claims = math.ceil(total / claim_threshold)
    return 1 + top_ups + claims


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase")
    parser.add_argument(
        "--connections", default="16,64", help="connection counts tried for the maximum rates"
    )
    parser.add_argument("--price", type=int, default=10, help="uvox per echo call")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.connections.split(",")})
    seconds, price = args.seconds, args.price
    conns = counts[-1]  # channels to open; the paced phases use them all

    with tempfile.TemporaryDirectory(prefix="paid-bench-") as tmp:
        root = Path(tmp)
        for n in counts:
            base = baseline(n, seconds, root)
            print(f"load generator alone (trivial server, {n} connections): {base:,.0f} req/s")

        funds = {encode_address(PAYER.public_key.address): FUNDS}
        funds[encode_address(PROVIDER.public_key.address)] = FUNDS
        with (
            LocalNode.start(root / "node", funds=funds) as node,
            VoxClient(node.url) as vox,
            LocalProvider.start(
                provider_home(root / "provider"),
                node_url=node.url,
                price=price,
                extra=["--bench-unpaid", "--claim-threshold", str(CLAIM_THRESHOLD)],
            ) as provider,
        ):
            chain_id = vox.status().chain_id
            budget = math.ceil(MAX_RATE_GUESS * seconds * 1.2 / counts[0] + 10) * price
            deposit = 6 * budget + 10**6
            channels = open_channels(vox, PROVIDER.public_key.address, conns, deposit)
            amounts = [0] * conns

            def paid(rate: float | None, n: int = conns) -> dict[str, Any]:
                phase = Phase(
                    provider.port, "/v1/echo", seconds, n, rate, chain_id, channels[:n],
                    amounts[:n], price, VOUCHER_KEY.seed.hex(),
                )  # fmt: skip
                result = run_phase(phase, root)
                for i, sent in enumerate(result["sent"]):
                    amounts[i] += sent * price
                return result

            def unpaid(rate: float | None, n: int = conns) -> dict[str, Any]:
                return run_phase(Phase(provider.port, "/v1/unpaid/echo", seconds, n, rate), root)

            paid(200.0)  # warm up: the provider loads each channel into its verified view
            rows: list[tuple[str, dict[str, Any]]] = []
            for n in counts:
                rows += [(f"unpaid, max, {n} conns", unpaid(None, n))]
                rows += [(f"paid, max, {n} conns", paid(None, n))]
            unpaid_max = max((r for name, r in rows if name.startswith("unpaid")), key=rate_of)
            paid_max = max((r for name, r in rows if name.startswith("paid")), key=rate_of)
            half = unpaid_max["per_s"] / 2
            unpaid_half, paid_half = unpaid(half), paid(half)
            # Also where the paid path is not saturated (when half the unpaid max is beyond it)
            low = min(half, paid_max["per_s"] / 2)
            unpaid_low, paid_low = unpaid(low), paid(low)
            rows += [
                (f"unpaid at {half:,.0f}/s", unpaid_half),
                (f"paid at {half:,.0f}/s", paid_half),
                (f"unpaid at {low:,.0f}/s", unpaid_low),
                (f"paid at {low:,.0f}/s", paid_low),
            ]
            status = provider.status()
        for name, r in rows:
            print(
                f"{name:>24}: {r['per_s']:8,.0f} calls/s  p50 {r['p50_ms']:.3f} ms  "
                f"p99 {r['p99_ms']:.3f} ms  errors {r['errors']}  exhausted {r['exhausted']}"
            )
            if r["samples"]:
                print("  e.g.", r["samples"][0])
        print(
            f"provider: served {status.get('served')} paid, {status.get('served_unpaid')} unpaid, "
            f"earned {status.get('earned')} uvox, claims sent {status.get('claims_sent')}, "
            f"ledger {status.get('ledger_records')} records in {status.get('ledger_flushes')} "
            "flushes"
        )
    print(
        f"added latency p50 at {low:,.0f}/s (half the paid max): "
        f"{paid_low['p50_ms'] - unpaid_low['p50_ms']:.3f} ms"
    )
    txs = onchain_txs_per_million(price, Policy(), CLAIM_THRESHOLD)
    added = paid_half["p50_ms"] - unpaid_half["p50_ms"]
    print(
        f"paid_calls_per_s={paid_max['per_s']:.0f} unpaid_calls_per_s={unpaid_max['per_s']:.0f} "
        f"added_latency_ms_p50={added:.3f} onchain_txs_per_million_calls={txs}"
    )


def rate_of(result: dict[str, Any]) -> float:
    rate: float = result["per_s"]
    return rate


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "loadgen":
        loadgen_main(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "trivial":
        trivial_main(int(sys.argv[2]))
    else:
        main()
