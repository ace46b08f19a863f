"""Every declared `voxpop tx` and `voxpop query` command, by module.

A new module adds a file here with its COMMANDS (cli/declare.py) and a line to MODULES.
"""

from __future__ import annotations

from voxpop.cli.commands import (
    auth,
    authz,
    bank,
    beacon,
    chain,
    channels,
    consent,
    devices,
    directory,
    distribution,
    feegrant,
    feemarket,
    gov,
    grant,
    htlc,
    inbox,
    market,
    services,
    settings,
    skills,
    slashing,
    staking,
    storage,
    wasm,
)
from voxpop.cli.declare import QueryCommand, TxCommand

MODULES = {
    "auth": "Accounts: balance, sequence and public key.",
    "bank": "Bank: send vox, read balances.",
    "staking": "Staking: create and edit validators, delegate stake.",
    "distribution": "Distribution: claim rewards and commission.",
    "slashing": "Slashing: unjail a validator.",
    "directory": "Key directory: publish, rotate and read encryption keys.",
    "authz": "Authz: let another key act for an account, without its key.",
    "feegrant": "Feegrant: pay the fees of another account's txs.",
    "services": "Services: offer paid API calls, find providers by kind.",
    "channels": "Channels: pay a provider per call, off chain, from a deposit.",
    "gov": "Governance: propose, deposit, vote; read proposals and verify tallies.",
    "skills": "Skills: register skills, and pay their creators per use.",
    "settings": "Settings: an owner's encrypted settings records and key epochs.",
    "devices": "Devices: pairing requests, claims, device records (encrypted).",
    "inbox": "Inbox: sealed messages to an owner, read and deleted by the owner.",
    "wasm": "Contracts: store WebAssembly code, instantiate, execute, query, migrate.",
    "storage": "Storage: providers, deals of erasure-coded shards, proofs and repairs.",
    "market": "Market: data offers escrowed by buyers, sales settled per accessed object.",
    "consent": "Consent: access grants to stored objects, their access records, misuse.",
    "beacon": "Beacon: the random seed the validators' vote extensions move each block.",
    "htlc": "Hash-time locks and swap offers: the VOX leg of cross-chain swaps.",
    "feemarket": "Fee market: the base gas price and its floor.",
    "grant": "Sign-up grants: registrars' bonds.",
}

COMMANDS: tuple[TxCommand | QueryCommand, ...] = (
    *bank.COMMANDS,
    *staking.COMMANDS,
    *distribution.COMMANDS,
    *slashing.COMMANDS,
    *directory.COMMANDS,
    *authz.COMMANDS,
    *feegrant.COMMANDS,
    *feemarket.COMMANDS,
    *services.COMMANDS,
    *channels.COMMANDS,
    *gov.COMMANDS,
    *skills.COMMANDS,
    *settings.COMMANDS,
    *devices.COMMANDS,
    *inbox.COMMANDS,
    *wasm.COMMANDS,
    *storage.COMMANDS,
    *market.COMMANDS,
    *consent.COMMANDS,
    *beacon.COMMANDS,
    *htlc.COMMANDS,
    *grant.COMMANDS,
    *auth.COMMANDS,
    *chain.COMMANDS,
)
TX_COMMANDS = tuple(c for c in COMMANDS if isinstance(c, TxCommand))
QUERY_COMMANDS = tuple(c for c in COMMANDS if isinstance(c, QueryCommand))

__all__ = ["COMMANDS", "MODULES", "QUERY_COMMANDS", "TX_COMMANDS"]
