"""Preparing CometBFT's home and a testnet's layout; RPC JSON -> service records."""

from __future__ import annotations

import base64
import hashlib
import json
import tomllib
from pathlib import Path

import pytest

from voxpop.chain.errors import ChainError, MempoolFullError, TxInMempoolError
from voxpop.chain.genesis import load_genesis
from voxpop.node.cometbft.config import (
    CometSettings,
    cometbft_config,
    load_comet_settings,
    rpc_url_from_laddr,
)
from voxpop.node.cometbft.genesis import GenesisError, cometbft_genesis
from voxpop.node.cometbft.home import prepare_cometbft_home
from voxpop.node.cometbft.rpc import (
    CometRPCError,
    block_record_from_rpc,
    mempool_refusal,
    parse_rfc3339_unix,
)
from voxpop.node.config import load_config
from voxpop.node.testnet import (
    MANIFEST,
    LocalNetError,
    init_testnet,
    load_testnet,
    start_testnet,
    stop_testnet,
)

PUB = bytes(range(32))


def our_genesis(**extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "chain_id": "voxpop-test",
        "genesis_time": "2024-01-02T03:04:05.000000000Z",
        "initial_height": "1",
        "validators": [
            {
                "address": "",
                "pub_key": {
                    "type": "tendermint/PubKeyEd25519",
                    "value": base64.b64encode(PUB).decode(),
                },
                "power": "10",
                "name": "v0",
            }
        ],
        "app_hash": "",
        "app_state": {"bank": {"balances": []}},
    }
    doc.update(extra)
    return doc


def test_cometbft_genesis_from_ours() -> None:
    out = cometbft_genesis(our_genesis())
    (v,) = out["validators"]
    assert v["address"] == hashlib.sha256(PUB).digest()[:20].hex().upper()
    assert v["power"] == "10"
    assert out["app_state"] == {"bank": {"balances": []}}
    assert out["initial_height"] == "1"
    assert out["consensus_params"]["validator"]["pub_key_types"] == ["ed25519"]


def test_cometbft_genesis_accepts_hex_keys_and_unix_time() -> None:
    out = cometbft_genesis(
        our_genesis(genesis_time=0, validators=[{"pub_key": PUB.hex(), "power": 3}])
    )
    assert out["genesis_time"] == "1970-01-01T00:00:00Z"
    assert out["validators"][0]["pub_key"]["value"] == base64.b64encode(PUB).decode()


@pytest.mark.parametrize(
    "validators",
    [
        [{"pub_key": {"type": "tendermint/PubKeySecp256k1", "value": "AA=="}, "power": 1}],
        [{"pub_key": PUB.hex()[:-2], "power": 1}],
        [{"pub_key": PUB.hex(), "power": 0}],
        [{"pub_key": PUB.hex(), "power": "lots"}],
    ],
)
def test_invalid_genesis_validators(validators: list[dict[str, object]]) -> None:
    with pytest.raises(GenesisError):
        cometbft_genesis(our_genesis(validators=validators))


def test_invalid_genesis_without_chain_id() -> None:
    doc = our_genesis()
    del doc["chain_id"]
    with pytest.raises(GenesisError):
        cometbft_genesis(doc)


def test_cometbft_config_applies_settings_then_overrides() -> None:
    settings = CometSettings(
        moniker="m",
        p2p_port=1,
        rpc_port=2,
        abci_port=3,
        timeout_commit_ms=200,
        create_empty_blocks=False,
        persistent_peers="id@127.0.0.1:1",
        overrides={"p2p": {"laddr": "tcp://127.0.0.1:1"}, "log_level": "debug"},
    )
    base = {"p2p": {"laddr": "x", "addr_book_strict": True}, "rpc": {}, "consensus": {}}
    cfg = cometbft_config(base, settings)
    assert cfg["proxy_app"] == "tcp://127.0.0.1:3"
    assert cfg["rpc"]["laddr"] == "tcp://127.0.0.1:2"
    assert cfg["p2p"] == {
        "laddr": "tcp://127.0.0.1:1",
        "addr_book_strict": True,
        "persistent_peers": "id@127.0.0.1:1",
    }
    assert cfg["consensus"]["timeout_commit"] == "200ms"
    assert cfg["consensus"]["create_empty_blocks"] is False
    assert cfg["log_level"] == "debug"
    assert cfg["storage"]["discard_abci_responses"] is False


def test_mempool_refusals_use_chain_error_codes() -> None:
    full = CometRPCError("broadcast_tx_sync", "Internal error", "mempool is full: number of txs 5")
    cached = CometRPCError("broadcast_tx_sync", "Internal error", "tx already exists in cache")
    large = CometRPCError("broadcast_tx_sync", "Internal error", "tx too large. Max size is 1")
    assert isinstance(mempool_refusal(full), MempoolFullError)
    assert isinstance(mempool_refusal(cached), TxInMempoolError)
    assert mempool_refusal(large).code == ChainError.code
    assert "tx too large" in mempool_refusal(large).message


def test_rpc_url_from_laddr() -> None:
    assert rpc_url_from_laddr("tcp://0.0.0.0:26657") == "http://127.0.0.1:26657"
    assert rpc_url_from_laddr("tcp://10.0.0.2:1") == "http://10.0.0.2:1"


def test_parse_rfc3339_unix() -> None:
    assert parse_rfc3339_unix("2026-11-22T00:50:51.189541961Z") == 1795308651
    assert parse_rfc3339_unix("1970-01-01T01:00:00+01:00") == 0
    with pytest.raises(ValueError):
        parse_rfc3339_unix("yesterday")


def test_block_record_from_rpc() -> None:
    block = {
        "block_id": {"hash": "AB" * 32},
        "block": {
            "header": {
                "chain_id": "c",
                "height": "5",
                "time": "1970-01-01T00:00:10.5Z",
                "last_block_id": {"hash": "CD" * 32},
                "data_hash": "EF" * 32,
                "app_hash": "00" * 32,
                "proposer_address": "11" * 20,
            },
            "data": {"txs": [base64.b64encode(b"a=b").decode()]},
        },
    }
    results = {
        "height": "5",
        "txs_results": [
            {
                "code": 0,
                "log": "",
                "gas_wanted": "1",
                "gas_used": "2",
                "events": [
                    {"type": "kv", "attributes": [{"key": "k", "value": "a", "index": True}]}
                ],
                "codespace": "",
            }
        ],
        "finalize_block_events": [{"type": "block", "attributes": []}],
        "app_hash": base64.b64encode(b"\x22" * 32).decode(),
    }
    record = block_record_from_rpc(block, results)
    assert record.header.height == 5
    assert record.header.time_unix == 10
    assert record.header.app_hash == b"\x22" * 32  # after this block, from block_results
    assert record.hash == b"\xab" * 32
    assert record.txs == (b"a=b",)
    assert record.results[0].gas_used == 2
    assert record.results[0].events[0].attr("k") == "a"
    assert record.events[0].type == "block"


def test_init_testnet_layout(tmp_path: Path) -> None:
    net = init_testnet(
        3, tmp_path / "net", app_state={"kv": {}}, base_port=30000, timeout_commit_ms=200
    )
    assert load_testnet(tmp_path / "net") == net
    assert [n.p2p_port for n in net.nodes] == [30000, 30010, 30020]
    assert [n.api_port for n in net.nodes] == [30003, 30013, 30023]
    genesis_files = {n.node_home.genesis_json.read_text() for n in net.nodes}
    assert len(genesis_files) == 1  # one shared genesis
    for node in net.nodes:
        home = node.node_home
        config = load_config(home.config_toml)  # the shared config schema accepts it
        assert config.moniker == node.name
        assert config.cometbft.rpc_port == node.rpc_port
        assert config.api.port == node.api_port
        peers = config.cometbft.persistent_peers.split(",")
        assert sorted(peers) == sorted(
            f"{p.node_id}@127.0.0.1:{p.p2p_port}" for p in net.nodes if p is not node
        )
        assert (home.priv_validator_key.stat().st_mode & 0o777) == 0o600
        settings = load_comet_settings(home)
        assert settings.overrides["p2p"]["allow_duplicate_ip"] is True
        assert settings.timeout_commit_ms == 200
    genesis = load_genesis(net.nodes[0].node_home.genesis_json)
    keys = [json.loads(n.node_home.priv_validator_key.read_text()) for n in net.nodes]
    assert [v.pub_key for v in genesis.validators] == [
        base64.b64decode(k["pub_key"]["value"]) for k in keys
    ]
    with pytest.raises(LocalNetError):
        init_testnet(1, tmp_path / "net")
    assert (tmp_path / "net" / MANIFEST).exists()


def test_init_testnet_app_state_from_validators(tmp_path: Path) -> None:
    net = init_testnet(
        2, tmp_path / "net", app_state=lambda vals: {"names": [v.name for v in vals]}
    )
    genesis = load_genesis(net.nodes[1].node_home.genesis_json)
    assert genesis.app_state == {"names": ["node0", "node1"]}


@pytest.mark.cometbft
def test_prepare_cometbft_home_is_idempotent(tmp_path: Path, cometbft_binary: Path) -> None:
    net = init_testnet(1, tmp_path / "net", app_state={}, base_port=30000)
    home = net.nodes[0].node_home
    prepared = prepare_cometbft_home(home, load_comet_settings(home), cometbft_binary)
    cdir = home.cometbft_dir
    assert prepared.proxy_app == "tcp://127.0.0.1:30002"
    assert prepared.rpc_url == "http://127.0.0.1:30001"
    assert prepared.chain_id == "voxpop-testnet"
    # our validator key and node key are the ones CometBFT uses
    assert (cdir / "config" / "priv_validator_key.json").read_text() == (
        home.priv_validator_key.read_text()
    )
    node_key = json.loads((cdir / "config" / "node_key.json").read_text())
    seed_and_pub = base64.b64decode(node_key["priv_key"]["value"])
    assert hashlib.sha256(seed_and_pub[32:]).digest()[:20].hex() == net.nodes[0].node_id
    config = tomllib.loads((cdir / "config" / "config.toml").read_text())
    assert config["p2p"]["laddr"] == "tcp://127.0.0.1:30000"
    assert config["p2p"]["allow_duplicate_ip"] is True
    genesis = json.loads((cdir / "config" / "genesis.json").read_text())
    assert genesis["validators"][0]["power"] == "10"
    before = {p: p.stat().st_mtime_ns for p in (cdir / "config").iterdir()}
    prepare_cometbft_home(home, load_comet_settings(home), cometbft_binary)
    after = {p: p.stat().st_mtime_ns for p in (cdir / "config").iterdir()}
    assert before == after  # nothing rewritten when nothing changed


@pytest.mark.slow
def test_invalid_start_testnet_reports_a_node_that_exits(tmp_path: Path) -> None:
    init_testnet(1, tmp_path / "net", app_state={}, base_port=30000)
    with pytest.raises(LocalNetError, match=r"node0 exited with code 2; see .*node\.log: .*"):
        start_testnet(tmp_path / "net", app_factory="no_such_module:open_app", settle_seconds=10)
    stop_testnet(tmp_path / "net")
    assert not (tmp_path / "net" / "node0" / "node.pid").exists()
