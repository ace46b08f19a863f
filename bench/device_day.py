"""What one device costs the chain: a simulated device-day through the real app and modules.

Runs the real state machine (voxpop.chain.app.VoxApp over a MerkleStore in a temp dir, one
validator, blocks made here as a node would) and sends, as signed txs, what a device and the
services around it put on chain:

    once per device (setup, spread over DEVICE_LIFE_DAYS in the per-day figure)
        directory/Publish   the owner's encryption keys
        settings/Rotate     the owner's first settings key, wrapped to the owner
        authz/Grant         consent: the owner lets its agent write settings (settings/Put)
        devices/RequestPairing + devices/Claim   the device paired to the owner
        channels/Open       a payment channel to a provider (also once per CHANNEL_DAYS)
    every day
        settings/Put        SETTINGS_PUTS_PER_DAY writes, as the agent (authz/Exec)
        devices/Update      one version report, as the agent (authz/Exec)
        channels/TopUp      one top-up by the owner
        channels/Claim      the provider claims the day's voucher: 64 channels per Claim tx,
                            so 1/64 of a tx per device

Measured per message kind: the signed tx's bytes and gas used, each tx checked to succeed.
Storage proofs are not simulated here: their cost depends on providers and leaf size, not on
devices, and is measured by the storage module (src/voxpop/chain/modules/storage/README.md,
"On-chain bytes per stored GiB-month"); docs/scaling.md adds it.

Prints a table on stderr and, as its last line:

    device_day_txs=<n> device_day_bytes=<n> device_day_gas=<n> device_state_bytes=<n>
    devices_per_4val=<n> devices_per_100val=<n>

(device_state_bytes: keys + values the device's first day leaves in the state.)

where devices_per_N = committed tx/s x 86,400 / device_day_txs, with the tx/s measured on this
machine for 4 validators (docs/benchmarks.md, testnet_tps) and CometBFT's published saturation
for ~175 validators (about 400 tx/s, /work reference: CometBFT QA) for 100.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from voxpop.chain.abci import (
    BlockIDFlag,
    CommitInfo,
    RequestFinalizeBlock,
    RequestInitChain,
    Validator,
    ValidatorUpdate,
    VoteInfo,
)
from voxpop.chain.app import VoxApp
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.staking.state import consensus_address
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto import derive_encryption_keys
from voxpop.crypto import settings as fmt
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import seal_envelope
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher
from voxpop.node.blockstore import AUX_DBS
from voxpop.store import MerkleStore

SETTINGS_PUTS_PER_DAY = 10
SETTINGS_BYTES = 512  # a typical settings document (plaintext)
DEVICE_LIFE_DAYS = 365
CHANNEL_DAYS = 30
VOUCHERS_PER_CLAIM = 64
TESTNET_TPS_4VAL = 440  # docs/benchmarks.md: 4 validators on this 2-core machine
COMETBFT_QA_TPS = 400  # CometBFT QA, ~175 validators, saturation (reference/cometbft.md)
CHAIN_ID = "voxpop-device-day"
GENESIS_TIME = 1_800_000_000
GAS_LIMIT = 2_000_000

Msg = tuple[str, dict[str, Any]]


@dataclass
class Kind:
    txs: int = 0
    bytes: int = 0
    gas: int = 0


@dataclass
class Sim:
    app: VoxApp
    validator: PrivateKey
    time: int = GENESIS_TIME
    sequences: dict[bytes, int] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)

    def block(self, txs: Sequence[tuple[str, bytes]]) -> None:
        self.time += 5
        height = self.app.last_height + 1
        votes = (
            VoteInfo(
                Validator(consensus_address(self.validator.public_key.raw), 10), BlockIDFlag.COMMIT
            ),
        )
        res = self.app.finalize_block(
            RequestFinalizeBlock(
                tuple(tx for _, tx in txs),
                height,
                self.time,
                decided_last_commit=CommitInfo(votes=votes if height > 1 else ()),
            )
        )
        self.app.commit()
        for (kind, tx), result in zip(txs, res.tx_results, strict=True):
            # Verify every simulated tx is one the chain accepts
            if result.code != 0:
                raise RuntimeError(f"{kind} failed: code {result.code} {result.log}")
            k = self.kinds.setdefault(kind, Kind())
            k.txs += 1
            k.bytes += len(tx)
            k.gas += result.gas_used

    def tx(self, signer: PrivateKey, msgs: Sequence[Msg]) -> bytes:
        address = signer.public_key.address
        seq = self.sequences.get(address, 0)
        self.sequences[address] = seq + 1
        body = make_body(
            chain_id=CHAIN_ID,
            pub_key=signer.public_key.raw,
            sequence=seq,
            fee=AuthParams().min_fee(GAS_LIMIT),
            gas_limit=GAS_LIMIT,
            msgs=list(msgs),
        )
        return encode_tx(body, signer.sign(body.sign_bytes()))


def start(path: Path, funded: Sequence[PrivateKey]) -> Sim:
    validator = PrivateKey(bytes(32))
    app = VoxApp(MerkleStore(path, aux_dbs=AUX_DBS, keep_versions=10))
    state = default_app_state([(k.public_key.address, 10**12) for k in funded])
    app.init_chain(
        RequestInitChain(
            time_unix=GENESIS_TIME,
            chain_id=CHAIN_ID,
            app_state_bytes=json.dumps(state).encode(),
            validators=(ValidatorUpdate(validator.public_key.raw, 10),),
        )
    )
    sim = Sim(app, validator)
    sim.block([])
    return sim


def exec_as(agent: PrivateKey, msgs: Sequence[Msg]) -> Msg:
    inner = [{"type": t, "value": v} for t, v in msgs]
    return "authz/Exec", {"grantee": agent.public_key.address, "msgs": inner}


def state_bytes(app: VoxApp) -> int:
    return sum(len(k) + len(v) for k, v in app.iterate_state())


def simulate(devices: int) -> tuple[dict[str, Kind], dict[str, Kind], int]:
    """(setup, day, state bytes added): per message kind, over `devices` devices."""
    owners = [PrivateKey((1_000 + i).to_bytes(32, "big")) for i in range(devices)]
    agent = PrivateKey((500).to_bytes(32, "big"))
    provider = PrivateKey((600).to_bytes(32, "big"))
    tmp = Path(tempfile.mkdtemp(prefix="voxpop-device-day-"))
    sim = start(tmp / "state", [*owners, agent, provider])
    before = state_bytes(sim.app)
    voucher_keys = [SigningKey((2_000 + i).to_bytes(32, "big")) for i in range(devices)]
    keys = []

    # --- setup, once per device -----------------------------------------------------------------
    for step in ("publish", "rotate", "grant", "pair", "claim_pairing", "open"):
        txs = []
        for i, owner in enumerate(owners):
            me = owner.public_key.address
            if step == "publish":
                ek = derive_encryption_keys(owner.seed, 1)
                msg: Msg = (
                    "directory/Publish",
                    {
                        "owner": me,
                        "version": 1,
                        "x25519": ek.x25519_public,
                        "secp256k1": ek.secp256k1_public,
                    },
                )
            elif step == "rotate":
                k = fmt.SettingsKeys(1, fmt.new_key(), fmt.new_key())
                keys.append(k)
                sealed = seal_envelope(
                    1, derive_encryption_keys(owner.seed, 1).x25519_public, k.wrapped()
                )
                msg = ("settings/Rotate", {"owner": me, "epoch": 1, "wraps": [[me, sealed]]})
            elif step == "grant":
                msg = (
                    "authz/Grant",
                    {
                        "granter": me,
                        "grantee": agent.public_key.address,
                        "msg_type": "settings/Put",
                        "spend_limit": 0,
                        "period_seconds": 0,
                        "period_limit": 0,
                        "expiration": 0,
                        "max_uses": 0,
                    },
                )
                txs.append(("authz/Grant (consent)", sim.tx(owner, [msg])))
                msg = (
                    "authz/Grant",
                    {
                        "granter": me,
                        "grantee": agent.public_key.address,
                        "msg_type": "devices/Update",
                        "spend_limit": 0,
                        "period_seconds": 0,
                        "period_limit": 0,
                        "expiration": 0,
                        "max_uses": 0,
                    },
                )
            elif step == "pair":
                msg = (
                    "devices/RequestPairing",
                    {
                        "owner": me,
                        "agent": agent.public_key.address,
                        "pairing_id": bytes([1]) + i.to_bytes(31, "big"),
                        "salt": bytes(16),
                        "blob": bytes(300),
                    },
                )
            elif step == "claim_pairing":
                msg = (
                    "devices/Claim",
                    {"owner": me, "pairing_id": bytes([1]) + i.to_bytes(31, "big")},
                )
            else:
                msg = (
                    "channels/Open",
                    {
                        "payer": me,
                        "payee": provider.public_key.address,
                        "voucher_key": bytes(voucher_keys[i].verify_key),
                        "deposit": 10_000_000,
                    },
                )
            txs.append(
                (msg[0] if step != "grant" else "authz/Grant (consent)", sim.tx(owner, [msg]))
            )
        sim.block(txs)
    setup = dict(sim.kinds)
    sim.kinds = {}

    # --- one day --------------------------------------------------------------------------------
    for n in range(SETTINGS_PUTS_PER_DAY):
        txs = []
        for i, owner in enumerate(owners):
            me = owner.public_key.address
            rid = fmt.compute_record_id(keys[i].naming_key, f"skill-{n}")
            ct = fmt.encrypt_record(keys[i].settings_key, me, rid, 1, 1, bytes(SETTINGS_BYTES))
            put = (
                "settings/Put",
                {"owner": me, "record_id": rid, "version": 1, "epoch": 1, "ciphertext": ct},
            )
            txs.append(("settings/Put (agent)", sim.tx(agent, [exec_as(agent, [put])])))
        sim.block(txs)
    txs = []
    for i, owner in enumerate(owners):
        me = owner.public_key.address
        device_id = bytes([1]) + i.to_bytes(31, "big")
        update = ("devices/Update", {"owner": me, "device_id": device_id, "blob": bytes(300)})
        txs.append(("devices/Update (agent)", sim.tx(agent, [exec_as(agent, [update])])))
        channel = derive_channel_id(CHAIN_ID, me, 0)
        txs.append(
            (
                "channels/TopUp",
                sim.tx(
                    owner,
                    [("channels/TopUp", {"payer": me, "channel_id": channel, "amount": 100_000})],
                ),
            )
        )
    sim.block(txs)
    txs = []
    for lo in range(0, devices, VOUCHERS_PER_CLAIM):
        vouchers = []
        for i in range(lo, min(devices, lo + VOUCHERS_PER_CLAIM)):
            channel = derive_channel_id(CHAIN_ID, owners[i].public_key.address, 0)
            v = sign_voucher(voucher_keys[i], CHAIN_ID, channel, 5_000)
            vouchers.append([channel, 5_000, v.signature])
        msg = ("channels/Claim", {"payee": provider.public_key.address, "vouchers": vouchers})
        txs.append(("channels/Claim (64 vouchers)", sim.tx(provider, [msg])))
    sim.block(txs)
    grown = state_bytes(sim.app) - before
    sim.app.store.close()
    return setup, sim.kinds, grown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=128, help="simulated side by side")
    args = parser.parse_args(argv)
    setup, day, grown = simulate(args.devices)
    d = args.devices
    rows = []
    day_txs = day_bytes = day_gas = 0.0
    for name, k in setup.items():
        per = (CHANNEL_DAYS if name == "channels/Open" else DEVICE_LIFE_DAYS) * d
        rows.append((f"setup {name}", k.txs / per, k.bytes / per, k.gas / per, k.bytes / k.txs))
    for name, k in day.items():
        rows.append((f"day   {name}", k.txs / d, k.bytes / d, k.gas / d, k.bytes / k.txs))
    print(
        f"{'per device-day':40} {'txs':>8} {'bytes':>9} {'gas':>10} {'tx bytes':>9}",
        file=sys.stderr,
    )
    for name, txs, nbytes, gas, size in rows:
        day_txs += txs
        day_bytes += nbytes
        day_gas += gas
        print(f"{name:40} {txs:8.3f} {nbytes:9.0f} {gas:10.0f} {size:9.0f}", file=sys.stderr)
    per4 = TESTNET_TPS_4VAL * 86_400 / day_txs
    per100 = COMETBFT_QA_TPS * 86_400 / day_txs
    print(
        f"device_day_txs={day_txs:.2f} device_day_bytes={day_bytes:.0f} "
        f"device_day_gas={day_gas:.0f} device_state_bytes={grown / d:.0f} "
        f"devices_per_4val={per4:.0f} devices_per_100val={per100:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
