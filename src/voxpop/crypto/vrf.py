"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03) over an Ed25519 key.

A verifiable random function: `prove(seed, alpha)` gives an 80-byte proof, anyone holding the
Ed25519 public key checks it (`verify`), and `proof_to_hash` gives its 64-byte output. Unlike an
Ed25519 signature, whose nonce the signer may choose freely (so a dishonest signer can produce
many valid signatures of one message), the VRF output is unique for a key and an input: the
randomness beacon (voxpop.chain.modules.beacon) relies on that so no validator can grind it.

Group arithmetic is libsodium's (PyNaCl bindings); the known answers of RFC 9381 Appendix B.3 are
in the tests.
"""

from __future__ import annotations

import hashlib

import nacl.bindings as sodium
from nacl.exceptions import RuntimeError as SodiumError

SUITE = b"\x03"
PROOF_SIZE = 80
OUTPUT_SIZE = 64
_C_LEN = 16
# The prime order of the edwards25519 base point, and the field prime
_L = 2**252 + 27742317777372353535851937790883648493
_P = 2**255 - 19
_BASE = bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")
_MAX_TRIES = 256  # each try succeeds with probability ~1/2: never reached in practice


class VrfError(ValueError):
    """A proof or key that is not valid (verify returns None instead of raising)."""


def _scalar(n: int) -> bytes:
    return n.to_bytes(32, "little")


def _times8(point: bytes) -> bytes:
    """Cofactor clearing by three doublings (point addition accepts any curve point)."""
    for _ in range(3):
        point = sodium.crypto_core_ed25519_add(point, point)
    return point


def _decodes(candidate: bytes) -> bool:
    """RFC 8032 §5.1.3 decoding succeeds: y canonical, x exists, and not x = 0 with its sign."""
    y = int.from_bytes(candidate, "little") & ((1 << 255) - 1)
    if y >= _P:
        return False
    if y in (1, _P - 1) and candidate[31] & 0x80:
        return False  # x = 0 has no negative encoding
    try:
        sodium.crypto_core_ed25519_add(candidate, candidate)
    except SodiumError:
        return False
    return True


def _encode_to_curve(public_key: bytes, alpha: bytes) -> bytes:
    """RFC 9381 §5.4.1.1, try and increment."""
    for ctr in range(_MAX_TRIES):
        digest = hashlib.sha512(SUITE + b"\x01" + public_key + alpha + bytes([ctr]) + b"\x00")
        candidate = digest.digest()[:32]
        if _decodes(candidate):
            return _times8(candidate)
    raise VrfError("no curve point found")  # probability 2^-256


def _challenge(*points: bytes) -> int:
    digest = hashlib.sha512(SUITE + b"\x02" + b"".join(points) + b"\x00").digest()
    return int.from_bytes(digest[:_C_LEN], "little")


def public_key(seed: bytes) -> bytes:
    return bytes(sodium.crypto_sign_seed_keypair(seed)[0])


def prove(seed: bytes, alpha: bytes) -> bytes:
    """The proof for `alpha` under the Ed25519 key whose 32-byte seed is `seed` (RFC 9381 §5.1)."""
    expanded = hashlib.sha512(seed).digest()
    secret = bytearray(expanded[:32])
    secret[0] &= 248
    secret[31] &= 127
    secret[31] |= 64
    x = int.from_bytes(secret, "little") % _L
    y = public_key(seed)
    h = _encode_to_curve(y, alpha)
    gamma = sodium.crypto_scalarmult_ed25519_noclamp(_scalar(x), h)
    # Nonce per RFC 9381 §5.4.2.2 (RFC 8032 style): deterministic, as the output must be
    k = int.from_bytes(hashlib.sha512(expanded[32:] + h).digest(), "little") % _L
    u = sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(k))
    v = sodium.crypto_scalarmult_ed25519_noclamp(_scalar(k), h)
    c = _challenge(y, h, gamma, u, v)
    s = (k + c * x) % _L
    return bytes(gamma) + c.to_bytes(_C_LEN, "little") + _scalar(s)


def proof_to_hash(proof: bytes) -> bytes:
    """The 64-byte output of a proof (RFC 9381 §5.2). Call only on a verified proof."""
    if len(proof) != PROOF_SIZE:
        raise VrfError(f"a proof is {PROOF_SIZE} bytes")
    try:
        cleared = _times8(proof[:32])
    except SodiumError:
        raise VrfError("Gamma is not a curve point") from None
    return hashlib.sha512(SUITE + b"\x03" + cleared + b"\x00").digest()


def verify(public_key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
    """The output if `proof` is valid for `alpha` under `public_key`, else None (RFC 9381 §5.3).

    Strict: the key and Gamma must be canonical points of the prime-order subgroup (libsodium's
    is_valid_point), s below the group order."""
    # Verify the sizes, the key, Gamma and s before any arithmetic
    if len(public_key) != 32 or len(proof) != PROOF_SIZE:
        return None
    gamma, c_bytes, s_bytes = proof[:32], proof[32:48], proof[48:]
    if not sodium.crypto_core_ed25519_is_valid_point(public_key):
        return None
    if not sodium.crypto_core_ed25519_is_valid_point(gamma):
        return None
    s = int.from_bytes(s_bytes, "little")
    if s >= _L:
        return None
    c = int.from_bytes(c_bytes, "little")
    try:
        h = _encode_to_curve(public_key, alpha)
        # U = s*B - c*Y, V = s*H - c*Gamma
        u = sodium.crypto_core_ed25519_sub(
            sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(s)),
            sodium.crypto_scalarmult_ed25519_noclamp(_scalar(c), public_key),
        )
        v = sodium.crypto_core_ed25519_sub(
            sodium.crypto_scalarmult_ed25519_noclamp(_scalar(s), h),
            sodium.crypto_scalarmult_ed25519_noclamp(_scalar(c), gamma),
        )
    except (SodiumError, VrfError):
        return None  # a zero scalar or an identity result: not a proof an honest prover makes
    if _challenge(public_key, h, gamma, u, v) != c:
        return None
    return proof_to_hash(proof)
