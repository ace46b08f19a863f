"""The Bitcoin HTLC: the standard script, its P2WSH output and the witnesses that spend it.

    OP_IF
        OP_SIZE 32 OP_EQUALVERIFY OP_SHA256 <hashlock> OP_EQUALVERIFY <recipient pubkey>
    OP_ELSE
        <timeout> OP_CHECKSEQUENCEVERIFY OP_DROP <sender pubkey>
    OP_ENDIF
    OP_CHECKSIG

Claim witness: <sig> <preimage> 1 <script>. Refund witness: <sig> <empty> <script>, in a version 2
tx whose input has nSequence = timeout (BIP 68 relative block lock, BIP 112). The OP_SIZE check
makes the preimage exactly 32 bytes, as on the other legs. Keys are 33-byte compressed public keys.
Pure functions: no node, no network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bitcoin import segwit_addr
from bitcoin.core import Hash160
from bitcoin.core.script import (
    OP_0,
    OP_CHECKSEQUENCEVERIFY,
    OP_CHECKSIG,
    OP_DROP,
    OP_ELSE,
    OP_ENDIF,
    OP_EQUALVERIFY,
    OP_IF,
    OP_SHA256,
    OP_SIZE,
    CScript,
)

from voxpop.swap.btc_errors import BtcTermsError

PREIMAGE_SIZE = 32
HASHLOCK_SIZE = 32
PUBKEY_SIZE = 33
# BIP 68: a block-based relative lock is the low 16 bits of nSequence (type flag clear).
MAX_CSV_BLOCKS = 0xFFFF
# The human-readable part of bech32 addresses per network (BIP 173).
BECH32_HRP = {"mainnet": "bc", "testnet": "tb", "signet": "tb", "regtest": "bcrt", "simnet": "sb"}


@dataclass(frozen=True, slots=True)
class HtlcScript:
    hashlock: bytes
    recipient: bytes  # compressed public key that claims with the preimage
    sender: bytes  # compressed public key that refunds after the timeout
    csv_blocks: int

    def __post_init__(self) -> None:
        # Verify the hashlock is a sha256 digest
        if len(self.hashlock) != HASHLOCK_SIZE:
            raise BtcTermsError(f"hashlock must be {HASHLOCK_SIZE} bytes")
        # Verify both keys are compressed public keys
        for name, key in (("recipient", self.recipient), ("sender", self.sender)):
            if len(key) != PUBKEY_SIZE or key[0] not in (2, 3):
                raise BtcTermsError(f"{name} must be a 33-byte compressed public key")
        # Verify the timeout fits a BIP 68 block-based relative lock
        if not 1 <= self.csv_blocks <= MAX_CSV_BLOCKS:
            raise BtcTermsError(f"timeout must be 1..{MAX_CSV_BLOCKS} blocks")

    @property
    def script(self) -> CScript:
        return CScript(
            [
                OP_IF,
                OP_SIZE,
                PREIMAGE_SIZE,
                OP_EQUALVERIFY,
                OP_SHA256,
                self.hashlock,
                OP_EQUALVERIFY,
                self.recipient,
                OP_ELSE,
                self.csv_blocks,
                OP_CHECKSEQUENCEVERIFY,
                OP_DROP,
                self.sender,
                OP_ENDIF,
                OP_CHECKSIG,
            ]
        )

    @property
    def script_pubkey(self) -> CScript:
        """The P2WSH output: OP_0 <sha256(script)>."""
        return p2wsh_script_pubkey(self.script)

    def address(self, network: str) -> str:
        return segwit_address(self.script_pubkey, network)


def parse_htlc_script(script: bytes) -> HtlcScript:
    """The terms of a script built by HtlcScript. Raises BtcTermsError for any other script."""
    try:
        elements = list(CScript(script))
    except Exception as e:  # python-bitcoinlib raises its own CScriptInvalidError
        raise BtcTermsError(f"not a script: {e}") from e
    if len(elements) != 15:
        raise BtcTermsError("not an HTLC script")
    hashlock, recipient, timeout, sender = elements[5], elements[7], elements[9], elements[12]
    if not (
        isinstance(hashlock, bytes) and isinstance(recipient, bytes) and isinstance(sender, bytes)
    ):
        raise BtcTermsError("not an HTLC script")
    parsed = HtlcScript(bytes(hashlock), bytes(recipient), bytes(sender), _script_int(timeout))
    # Verify the script is exactly the canonical one (every opcode in place, minimal pushes)
    if bytes(parsed.script) != bytes(script):
        raise BtcTermsError("not an HTLC script")
    return parsed


def _script_int(element: object) -> int:
    if type(element) is int:  # python-bitcoinlib yields OP_1..OP_16 as their numbers
        return element
    if isinstance(element, bytes) and 0 < len(element) <= 3 and not element[-1] & 0x80:
        return int.from_bytes(element, "little")
    raise BtcTermsError("not an HTLC script")


def p2wsh_script_pubkey(script: bytes) -> CScript:
    return CScript([OP_0, hashlib.sha256(script).digest()])


def p2wpkh_script_pubkey(pubkey: bytes) -> CScript:
    return CScript([OP_0, Hash160(pubkey)])


def segwit_address(script_pubkey: bytes, network: str) -> str:
    """The bech32 address of a version 0 witness output on `network` (no global params)."""
    if network not in BECH32_HRP:
        raise BtcTermsError(f"unknown network {network!r}; one of {sorted(BECH32_HRP)}")
    program = bytes(script_pubkey)[2:]
    address: str | None = segwit_addr.encode(BECH32_HRP[network], 0, program)
    if address is None:
        raise BtcTermsError("not a witness output")
    return address


def claim_witness(signature: bytes, preimage: bytes, script: bytes) -> list[bytes]:
    """The witness stack that takes the IF branch: <sig> <preimage> 1 <script>."""
    return [signature, preimage, b"\x01", script]


def refund_witness(signature: bytes, script: bytes) -> list[bytes]:
    """The witness stack that takes the ELSE branch: <sig> <empty> <script>."""
    return [signature, b"", script]


def preimage_from_witness(witness: list[bytes], htlc: HtlcScript) -> bytes | None:
    """The secret a claim of `htlc` revealed, or None if `witness` is not a claim of it (a refund,
    another script, or a preimage that does not hash to the hashlock)."""
    if len(witness) != 4 or witness[2] != b"\x01" or witness[3] != bytes(htlc.script):
        return None
    preimage = witness[1]
    if len(preimage) != PREIMAGE_SIZE or hashlib.sha256(preimage).digest() != htlc.hashlock:
        return None
    return preimage
