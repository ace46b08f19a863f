"""The ABCI socket server in process, driven by a raw protobuf client (no CometBFT)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.abci.kvapp import KVApp, compute_app_hash
from voxpop.abci import translate
from voxpop.abci.codec import FrameDecoder, encode_frame
from voxpop.abci.proto import abci_pb2
from voxpop.abci.server import _INLINE_MAX, AbciServer, AppLock, ListenAddress, _inline_eligible
from voxpop.chain.abci import (
    BlockIDFlag,
    Event,
    EventAttribute,
    MisbehaviorType,
    RequestCheckTx,
    ResponseQuery,
    ValidatorUpdate,
)


class RawClient:
    """Pipelines requests on one connection, as CometBFT does, and reads the answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder()
        self.buffered: list[bytes] = []

    @classmethod
    async def connect(cls, address: ListenAddress) -> RawClient:
        if address.unix_path is not None:
            reader, writer = await asyncio.open_unix_connection(str(address.unix_path))
        else:
            reader, writer = await asyncio.open_connection(address.host, address.port)
        return cls(reader, writer)

    def send(self, **request: Any) -> None:
        self.writer.write(encode_frame(abci_pb2.Request(**request).SerializeToString()))

    async def receive(self, count: int) -> list[Any]:
        await self.writer.drain()
        while len(self.buffered) < count:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                break
            self.buffered += self.decoder.feed(data)
        out, self.buffered = self.buffered[:count], self.buffered[count:]
        return [abci_pb2.Response.FromString(p) for p in out]

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def init_chain_request(kv: dict[str, str]) -> Any:
    return abci_pb2.RequestInitChain(
        chain_id="test-chain",
        app_state_bytes=json.dumps({"kv": kv}, indent=2).encode(),
        initial_height=1,
    )


@pytest.fixture
async def served(tmp_path: Path) -> Any:
    app = KVApp()
    server = AbciServer(app)
    await server.start(f"unix://{tmp_path}/abci.sock")
    try:
        yield app, server
    finally:
        await server.close()


async def test_pipelined_requests_are_answered_in_order(served: Any) -> None:
    app, server = served
    client = await RawClient.connect(server.address)
    client.send(echo=abci_pb2.RequestEcho(message="hello"))
    client.send(info=abci_pb2.RequestInfo(version="0.38.25"))
    client.send(init_chain=init_chain_request({"a": "1"}))
    client.send(check_tx=abci_pb2.RequestCheckTx(tx=b"k=v"))
    client.send(check_tx=abci_pb2.RequestCheckTx(tx=b"garbage"))
    client.send(flush=abci_pb2.RequestFlush())
    client.send(finalize_block=abci_pb2.RequestFinalizeBlock(txs=[b"k=v", b"bad"], height=1))
    client.send(commit=abci_pb2.RequestCommit())
    client.send(query=abci_pb2.RequestQuery(path="/key", data=b"k"))
    client.send(list_snapshots=abci_pb2.RequestListSnapshots())
    client.send(extend_vote=abci_pb2.RequestExtendVote(height=1))
    client.send(verify_vote_extension=abci_pb2.RequestVerifyVoteExtension(height=1))
    client.send(flush=abci_pb2.RequestFlush())
    responses = await client.receive(13)
    kinds = [r.WhichOneof("value") for r in responses]
    assert kinds == [
        "echo",
        "info",
        "init_chain",
        "check_tx",
        "check_tx",
        "flush",
        "finalize_block",
        "commit",
        "query",
        "list_snapshots",
        "extend_vote",
        "verify_vote_extension",
        "flush",
    ]
    echo, info, init, ok_tx, bad_tx, _, block, _, query, *_ = responses
    assert echo.echo.message == "hello"
    assert info.info.last_block_height == 0
    assert init.init_chain.app_hash == compute_app_hash({"a": "1"})
    assert (ok_tx.check_tx.code, bad_tx.check_tx.code) == (0, 1)
    assert bad_tx.check_tx.codespace == "kv"
    assert [r.code for r in block.finalize_block.tx_results] == [0, 1]
    assert block.finalize_block.app_hash == compute_app_hash({"a": "1", "k": "v"})
    assert block.finalize_block.tx_results[0].events[0].attributes[0].key == "key"
    assert query.query.value == b"v"
    assert responses[11].verify_vote_extension.status == 1  # ACCEPT
    assert app.height == 1
    await client.close()


async def test_init_chain_app_state_is_canonical_json(served: Any) -> None:
    app, server = served
    client = await RawClient.connect(server.address)
    seen: list[bytes] = []
    original = app.init_chain

    def spy(req: Any) -> Any:
        seen.append(req.app_state_bytes)
        return original(req)

    app.init_chain = spy
    client.send(init_chain=init_chain_request({"b": "2", "a": "é"}))
    await client.receive(1)
    assert seen == [b'{"kv":{"a":"\\u00e9","b":"2"}}']
    await client.close()


async def test_check_tx_exception_rejects_the_tx_and_keeps_serving(served: Any) -> None:
    app, server = served

    def broken(req: RequestCheckTx) -> Any:
        raise KeyError("boom")

    app.check_tx = broken
    client = await RawClient.connect(server.address)
    client.send(check_tx=abci_pb2.RequestCheckTx(tx=b"k=v"))
    client.send(echo=abci_pb2.RequestEcho(message="still here"))
    check, echo = await client.receive(2)
    assert check.check_tx.code == 1
    assert check.check_tx.codespace == "abci"
    assert echo.echo.message == "still here"
    await client.close()


async def test_a_few_check_tx_are_answered_on_the_loop_while_the_app_is_idle(served: Any) -> None:
    """No thread hand-off for a small burst of CheckTx when the app is free; while a consensus
    call holds the app, the CheckTx waits for it and is answered on a worker thread."""
    app, server = served
    threads: list[str] = []
    original = app.check_tx

    def spy(req: RequestCheckTx) -> Any:
        threads.append(threading.current_thread().name)
        return original(req)

    app.check_tx = spy
    client = await RawClient.connect(server.address)
    client.send(check_tx=abci_pb2.RequestCheckTx(tx=b"k=v"))
    client.send(flush=abci_pb2.RequestFlush())
    check, _ = await client.receive(2)
    assert check.check_tx.code == 0
    assert threads == [threading.current_thread().name]  # the test's loop is the server's

    threads.clear()
    holding, done = threading.Event(), threading.Event()

    def consensus_call() -> None:
        with server.lock.hold(urgent=True):
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=consensus_call)
    holder.start()
    assert holding.wait(10)
    client.send(check_tx=abci_pb2.RequestCheckTx(tx=b"garbage"))
    client.send(flush=abci_pb2.RequestFlush())
    await client.writer.drain()
    await asyncio.sleep(0.2)
    assert threads == []  # not answered while the app is held
    done.set()
    check, _ = await client.receive(2)
    holder.join()
    assert check.check_tx.code == 1
    assert len(threads) == 1 and threads[0].startswith("abci-app")
    await client.close()


def test_which_bursts_may_be_answered_on_the_loop() -> None:
    def frame(**request: Any) -> bytes:
        return bytes(abci_pb2.Request(**request).SerializeToString())

    check = frame(check_tx=abci_pb2.RequestCheckTx(tx=b"k=v"))
    flush = frame(flush=abci_pb2.RequestFlush())
    assert _inline_eligible([check, flush])
    assert _inline_eligible([check] * _INLINE_MAX)
    assert not _inline_eligible([check] * (_INLINE_MAX + 1))
    assert not _inline_eligible([check, frame(query=abci_pb2.RequestQuery(path="/key"))])
    assert not _inline_eligible([frame(commit=abci_pb2.RequestCommit())])
    assert not _inline_eligible([b"", check])


def test_app_lock_try_acquire_never_waits() -> None:
    lock = AppLock()
    assert lock.try_acquire()
    assert not lock.try_acquire()  # held
    lock.release()
    # A consensus call waiting for the lock goes first, even in the instant the lock is free
    # (between a release and the waiter's wake-up: too short to catch from a thread, so set)
    lock._urgent_waiting = 1
    assert not lock.try_acquire()
    lock._urgent_waiting = 0
    assert lock.try_acquire()
    lock.release()
    with lock.hold(urgent=True):
        assert not lock.try_acquire()
    assert lock.try_acquire()
    lock.release()


async def test_invalid_consensus_exception_answers_exception_and_closes(tmp_path: Path) -> None:
    app = KVApp()
    fatal: list[BaseException] = []
    server = AbciServer(app, on_fatal=fatal.append)
    await server.start(f"unix://{tmp_path}/abci.sock")
    try:
        client = await RawClient.connect(server.address)
        client.send(commit=abci_pb2.RequestCommit())  # commit without finalize_block
        client.send(echo=abci_pb2.RequestEcho(message="never answered"))
        responses = await client.receive(2)
        assert [r.WhichOneof("value") for r in responses] == ["exception"]
        assert "commit failed" in responses[0].exception.error
        assert len(fatal) == 1
        await client.close()
    finally:
        await server.close()


async def test_invalid_bytes_answer_exception(served: Any) -> None:
    _, server = served
    client = await RawClient.connect(server.address)
    client.writer.write(encode_frame(b"\xff\xff\xff"))
    (response,) = await client.receive(1)
    assert response.WhichOneof("value") == "exception"
    await client.close()


async def test_tcp_listener_and_four_connections(tmp_path: Path) -> None:
    app = KVApp()
    server = AbciServer(app)
    await server.start("tcp://127.0.0.1:0")
    try:
        assert server.address.port > 0
        clients = [await RawClient.connect(server.address) for _ in range(4)]
        for i, c in enumerate(clients):
            c.send(echo=abci_pb2.RequestEcho(message=str(i)))
            c.send(info=abci_pb2.RequestInfo())
        for i, c in enumerate(clients):
            echo, info = await c.receive(2)
            assert echo.echo.message == str(i)
            assert info.info.data == "kvapp"
            await c.close()
    finally:
        await server.close()


async def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "abci.sock"
    first = AbciServer(KVApp())
    await first.start(f"unix://{path}")
    with pytest.raises(FileExistsError):
        await AbciServer(KVApp()).start(f"unix://{path}")
    await first.close()
    import socket

    left_over = socket.socket(socket.AF_UNIX)
    left_over.bind(str(path))  # a socket file nobody listens on, as after kill -9
    left_over.close()
    second = AbciServer(KVApp())
    await second.start(f"unix://{path}")
    await second.close()


def test_app_lock_lets_urgent_holders_go_first() -> None:
    lock = AppLock()
    order: list[str] = []
    started = threading.Event()

    def holder() -> None:
        with lock.hold(urgent=True):
            started.set()
            time.sleep(0.2)

    def waiter(name: str, urgent: bool, delay: float) -> None:
        time.sleep(delay)
        with lock.hold(urgent=urgent):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    started.wait()
    threads += [
        threading.Thread(target=waiter, args=("mempool", False, 0.0)),
        threading.Thread(target=waiter, args=("consensus", True, 0.05)),
    ]
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    assert order == ["consensus", "mempool"]


def test_listen_address_parse() -> None:
    assert ListenAddress.parse("tcp://127.0.0.1:26658") == ListenAddress(
        host="127.0.0.1", port=26658
    )
    assert ListenAddress.parse("unix:///tmp/x.sock").unix_path == Path("/tmp/x.sock")
    with pytest.raises(ValueError):
        ListenAddress.parse("http://nope")


def test_translate_round_trips() -> None:
    update = ValidatorUpdate(pub_key_ed25519=b"\x01" * 32, power=7)
    assert translate.validator_update_from_pb(translate.validator_update_to_pb(update)) == update
    events = (Event("transfer", (EventAttribute("amount", "5"), EventAttribute("x", "y", False))),)
    assert translate.events_from_pb(translate.events_to_pb(events)) == events

    pb = abci_pb2.RequestFinalizeBlock(
        txs=[b"a"],
        height=9,
        decided_last_commit=abci_pb2.CommitInfo(
            round=1,
            votes=[
                abci_pb2.VoteInfo(
                    validator=abci_pb2.Validator(address=b"\x02" * 20, power=5),
                    block_id_flag="BLOCK_ID_FLAG_COMMIT",
                )
            ],
        ),
        misbehavior=[
            abci_pb2.Misbehavior(
                type="DUPLICATE_VOTE",
                validator=abci_pb2.Validator(address=b"\x03" * 20, power=1),
                height=8,
            )
        ],
    )
    pb.time.seconds = 1_700_000_000
    pb.time.nanos = 999_999_999
    req = translate.finalize_block_request_from_pb(pb)
    assert req.time_unix == 1_700_000_000
    assert req.decided_last_commit.votes[0].block_id_flag is BlockIDFlag.COMMIT
    assert req.misbehavior[0].validator.address == b"\x03" * 20
    assert req.misbehavior[0].type is MisbehaviorType.DUPLICATE_VOTE

    proof = translate.query_response_to_pb(ResponseQuery(code=0, key=b"k", value=b"v", proof=b"p"))
    assert proof.proof_ops.ops[0].type == translate.PROOF_OP_TYPE
    assert proof.proof_ops.ops[0].data == b"p"
    assert not translate.query_response_to_pb(ResponseQuery(code=0)).HasField("proof_ops")


def test_invalid_secp256k1_validator_key() -> None:
    pb = abci_pb2.ValidatorUpdate(power=1)
    pb.pub_key.secp256k1 = b"\x02" * 33
    with pytest.raises(translate.UnsupportedKeyType):
        translate.validator_update_from_pb(pb)
