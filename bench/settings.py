"""Benchmark: encrypted settings on a real solo node: writes committed per second, and reads from
a verified node (each answer proven against a header signed by the genesis validator, then
decrypted), as an owner's tools and agents do them.

Starts `voxpop node start --solo` on a fresh home with funded owners; each owner publishes its
directory keys and starts key epoch 1 (a settings key wrapped to itself). Writes: settings/Put
txs of a device settings record (a Selene-sized JSON object, encrypted as the client does),
pre-signed, sent through the batch broadcast endpoint, timed until every one is committed.
Reads: `SettingsVault.read` of those records (record query with a Merkle proof, checked against
the signed header, decrypted with the epoch's key), one at a time; the baseline is the same
record query unproven, timed in the same loop (one round trip to the node at that moment).

    python bench/settings.py [--owners N] [--records R] [--reads K]

Last line: settings_write_per_s=<n> settings_read_ms_p50=<n> ciphertext_overhead_bytes=<n>
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from voxpop.chain.genesis import load_genesis
from voxpop.chain.modules.settings.messages import MsgPut, MsgRotate
from voxpop.client import VoxClient, build_tx, sign_tx
from voxpop.client.devices import device_settings_name, estimate_gas
from voxpop.client.settings import SettingsVault
from voxpop.client.testing import LocalNode
from voxpop.crypto import encode_address
from voxpop.crypto import settings as fmt
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import seal_envelope

FUNDS = 10**12
# What a device's settings record holds (the fields of Selene's /setting): a typical size
DEVICE_SETTINGS = {
    "dateFormat": "DMY",
    "timeFormat": "full",
    "systemUnit": "metric",
    "optIn": False,
    "ttsSettings": {"module": "mimic3", "voice": "en_UK/apope_low"},
    "listenerSetting": {"wakeWord": "hey mycroft", "sampleRate": 16000, "channels": 1},
    "lang": "en-us",
    "enclosureVersion": "2.0",
}


def start_epoch(client: VoxClient, owners: list[PrivateKey], chain_id: str) -> None:
    """Each owner publishes its directory keys, then wraps a first settings key to itself."""
    for key in owners:
        client.publish_keys(key, mode="sync")
    wait_idle(client, [key.public_key.address for key in owners], 1)
    for key in owners:
        owner = key.public_key.address
        keys = fmt.SettingsKeys(1, fmt.new_key(), fmt.new_key())
        x25519 = derive_encryption_keys(key.seed, 1).x25519_public
        wrap = seal_envelope(1, x25519, keys.wrapped())
        client.execute(key, [MsgRotate(owner, 1, ((owner, wrap),))], gas_limit=100_000, mode="sync")
    wait_idle(client, [key.public_key.address for key in owners], 2)


def wait_idle(client: VoxClient, addresses: list[bytes], sequence: int) -> None:
    """Until every account's sequence reached `sequence` (its txs so far are committed)."""
    deadline = time.monotonic() + 120
    for address in addresses:
        while client.account(address).sequence < sequence:
            if time.monotonic() > deadline:
                raise SystemExit("txs not committed in 120 s")
            time.sleep(0.05)


def sign_writes(
    client: VoxClient, owners: list[PrivateKey], records: int, chain_id: str
) -> tuple[list[bytes], int]:
    """Pre-signed settings/Put txs, `records` per owner (a record per device), and the overhead
    of a ciphertext over its plaintext."""
    plaintext = json.dumps(DEVICE_SETTINGS, sort_keys=True).encode()
    fee_per_gas = client.auth_params()
    txs, overhead = [], 0
    for key in owners:
        owner = key.public_key.address
        keys = SettingsVault(client, owner, key).keys()
        for n in range(records):
            record_id = fmt.compute_record_id(
                keys.naming_key, device_settings_name(bytes([n]) * 32)
            )
            ciphertext = fmt.encrypt_record(keys.settings_key, owner, record_id, 1, 1, plaintext)
            overhead = len(ciphertext) - len(plaintext)
            msg = MsgPut(owner, record_id, 1, 1, ciphertext)
            gas = estimate_gas([msg])
            body = build_tx(
                chain_id=chain_id,
                pub_key=key.public_key.raw,
                sequence=2 + n,
                msgs=[msg.raw()],
                fee=fee_per_gas.min_fee(gas),
                gas_limit=gas,
            )
            txs.append(sign_tx(body, key))
    return txs, overhead


def bench_writes(
    client: VoxClient, owners: list[PrivateKey], txs: list[bytes], records: int
) -> float:
    start = time.perf_counter()
    for i in range(0, len(txs), 500):
        results = client.broadcast_batch(txs[i : i + 500])
        refused = [r for r in results if r.code != 0]
        if refused:
            raise SystemExit(f"{len(refused)} writes refused: {refused[0].log}")
    wait_idle(client, [k.public_key.address for k in owners], 2 + records)
    elapsed = time.perf_counter() - start
    rate = len(txs) / elapsed
    print(
        f"writes: {len(txs):,} records from {len(owners)} owners in {elapsed:.2f} s, {rate:,.0f}/s"
    )
    return rate


def bench_reads(
    client: VoxClient, owners: list[PrivateKey], records: int, reads: int
) -> tuple[float, float]:
    """p50 of proven, decrypted reads, and of the same record query unproven (the baseline: one
    round trip to the node on this machine at this moment)."""
    vaults = [SettingsVault(client, k.public_key.address, k) for k in owners]
    for vault in vaults:
        vault.keys()  # each reader unwraps its key once, as an agent does at start
    expected = json.dumps(DEVICE_SETTINGS, sort_keys=True).encode()
    proven, plain = [], []
    for i in range(reads):
        vault = vaults[i % len(vaults)]
        name = device_settings_name(bytes([i % records]) * 32)
        start = time.perf_counter()
        value = vault.read(name)
        proven.append(time.perf_counter() - start)
        if value != expected:
            raise SystemExit(f"read back {value!r}")
        data = vault.owner + vault.record_id(name)
        start = time.perf_counter()
        client.query("/settings/record", data, prove=False)
        plain.append(time.perf_counter() - start)
    p50, base = statistics.median(proven) * 1000, statistics.median(plain) * 1000
    p99 = sorted(proven)[int(len(proven) * 0.99) - 1] * 1000
    print(
        f"reads: {reads:,} proven and decrypted, p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
        f"baseline (the query unproven) p50 {base:.2f} ms"
    )
    return p50, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    owners = [PrivateKey(bytes([1, i >> 8, i & 255]) + bytes(29)) for i in range(args.owners)]
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-") as workdir:
        home = Path(workdir) / "node"
        funds = {encode_address(k.public_key.address): FUNDS for k in owners}
        with LocalNode.start(home, funds=funds, block_interval_ms=200) as node:
            genesis = load_genesis(home / "config" / "genesis.json")
            validators = [v.pub_key for v in genesis.validators]
            with VoxClient(node.url, trusted_validator_keys=validators) as client:
                start_epoch(client, owners, genesis.chain_id)
                txs, overhead = sign_writes(client, owners, args.records, genesis.chain_id)
                write_rate = bench_writes(client, owners, txs, args.records)
                read_p50, _ = bench_reads(client, owners, args.records, args.reads)
    print(
        f"settings_write_per_s={write_rate:.0f} settings_read_ms_p50={read_p50:.2f} "
        f"ciphertext_overhead_bytes={overhead}"
    )


if __name__ == "__main__":
    main()
