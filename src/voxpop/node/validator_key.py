"""The consensus key file, in CometBFT's own priv_validator_key.json format.

Solo mode signs block headers with it; under CometBFT the same file is CometBFT's validator key. It
is written with mode 0600, as CometBFT does. (Remote signers are the way to keep it off disk.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from voxpop.crypto import vrf
from voxpop.crypto.keys import PrivateKey


class ValidatorKeyError(Exception):
    pass


def cometbft_address(pub_key: bytes) -> bytes:
    return hashlib.sha256(pub_key).digest()[:20]


def save_validator_key(path: Path, key: PrivateKey) -> None:
    pub = key.public_key.raw
    doc = {
        "address": cometbft_address(pub).hex().upper(),
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(pub).decode()},
        "priv_key": {
            "type": "tendermint/PrivKeyEd25519",
            "value": base64.b64encode(key.seed + pub).decode(),
        },
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    tmp.replace(path)


def beacon_prover(key: PrivateKey) -> Callable[[bytes], bytes]:
    """The randomness beacon's VRF prover over this consensus key (VoxApp.beacon_prover): the
    app gets this function, never the key file."""
    return partial(vrf.prove, key.seed)


def load_validator_key(path: Path) -> PrivateKey:
    try:
        doc = json.loads(path.read_text())
        raw = base64.b64decode(doc["priv_key"]["value"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidatorKeyError(f"cannot read validator key {path}: {exc}") from None
    if len(raw) != 64:
        raise ValidatorKeyError(f"{path}: priv_key must be 64 bytes")
    key = PrivateKey(raw[:32])
    if key.public_key.raw != raw[32:]:
        raise ValidatorKeyError(f"{path}: public half does not match the seed")
    return key
