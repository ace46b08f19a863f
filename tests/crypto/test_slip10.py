from __future__ import annotations

import pytest

from voxpop.crypto import InvalidDerivationPath, InvalidKey, PrivateKey, derive_path
from voxpop.crypto.slip10 import HARDENED, derive_child, master_key, parse_path

from .vectors import (
    SLIP10_VECTOR_1,
    SLIP10_VECTOR_1_SEED,
    SLIP10_VECTOR_2,
    SLIP10_VECTOR_2_SEED,
)

VECTORS = [(SLIP10_VECTOR_1_SEED, *v) for v in SLIP10_VECTOR_1] + [
    (SLIP10_VECTOR_2_SEED, *v) for v in SLIP10_VECTOR_2
]


@pytest.mark.parametrize(("seed", "path", "chain_code", "private", "public"), VECTORS)
def test_slip10_ed25519_vectors(
    seed: str, path: str, chain_code: str, private: str, public: str
) -> None:
    key = derive_path(bytes.fromhex(seed), path)
    assert key.chain_code.hex() == chain_code
    assert key.private_key.hex() == private
    assert PrivateKey(key.private_key).public_key.raw.hex() == public


def test_parse_path() -> None:
    assert parse_path("m") == ()
    assert parse_path("m/44'/8118'/0'/0'/0'") == tuple(i | HARDENED for i in (44, 8118, 0, 0, 0))
    assert parse_path("m/44h/1H") == (44 | HARDENED, 1 | HARDENED)
    assert parse_path("m/2147483647'") == (0xFFFFFFFF,)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "44'/0'",
        "m/44'/0",
        "m/x'",
        "m/-1'",
        "m/2147483648'",
        "m//0'",
        "m/0'/",
        "m/\u0661'",  # an Arabic-Indic digit: isdecimal(), but not ASCII
    ],
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidDerivationPath):
        parse_path(path)


def test_invalid_normal_child() -> None:
    with pytest.raises(InvalidDerivationPath):
        derive_child(master_key(bytes(16)), 0)


@pytest.mark.parametrize("size", [0, 15, 65])
def test_invalid_seed_size(size: int) -> None:
    with pytest.raises(InvalidKey):
        master_key(bytes(size))
