"""The payer's side of the gateway protocol: pricing audio, 402 problems, receipt checks."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import soundfile
from nacl.signing import SigningKey

from voxpop.client.payments import BadAnswerError, BadAudioError, check_receipt, price_units
from voxpop.client.payments.wire import parse_problem, payment_headers
from voxpop.crypto.vouchers import sign_receipt, sign_voucher

CHAIN = "voxpop-test"
CID = b"\x05" * 32
PROVIDER = SigningKey(b"\x08" * 32)
PAYER = SigningKey(b"\x09" * 32)


def _audio(seconds: float, rate: int = 16_000, fmt: str = "FLAC") -> bytes:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(int(seconds * rate), dtype=np.int16), rate, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("seconds", [0.5, 9.99, 10.0, 10.01, 25.0])
def test_stt_price_units_are_started_ten_seconds(seconds: float) -> None:
    assert price_units("stt", _audio(seconds)) == max(1, math.ceil(seconds / 10))
    assert price_units("stt", _audio(seconds, 8_000, "WAV")) == max(1, math.ceil(seconds / 10))


def test_other_kinds_cost_one_unit() -> None:
    assert price_units("echo", b"{}") == 1


def test_invalid_audio_is_not_priced() -> None:
    with pytest.raises(BadAudioError):
        price_units("stt", b"not audio")


def _answer(amount: int, response: bytes = b'{"ok":1}') -> dict[str, str]:
    receipt = sign_receipt(PROVIDER, CHAIN, CID, b"req", response, amount)
    return {"X-Vox-Receipt": receipt.signature.hex(), "X-Vox-Amount": str(amount)}


def _check(headers: dict[str, str], response: bytes = b'{"ok":1}', amount: int = 30) -> None:
    check_receipt(
        chain_id=CHAIN,
        signing_key=bytes(PROVIDER.verify_key),
        voucher=sign_voucher(PAYER, CHAIN, CID, amount),
        request=b"req",
        response=response,
        headers=headers,
    )


def test_valid_receipt() -> None:
    _check(_answer(30))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Vox-Amount": "30"},
        {"X-Vox-Receipt": "zz", "X-Vox-Amount": "30"},
        {"X-Vox-Receipt": "00" * 64, "X-Vox-Amount": "30"},
    ],
)
def test_invalid_unsigned_or_malformed_receipt(headers: dict[str, str]) -> None:
    with pytest.raises(BadAnswerError):
        _check(headers)


def test_invalid_receipt_for_another_response_or_amount() -> None:
    with pytest.raises(BadAnswerError):
        _check(_answer(30), response=b'{"ok":2}')  # the body was swapped
    with pytest.raises(BadAnswerError):
        _check(_answer(20))  # it accepted another amount than the voucher's


def test_invalid_receipt_signed_by_another_key() -> None:
    other = sign_receipt(SigningKey(b"\x01" * 32), CHAIN, CID, b"req", b'{"ok":1}', 30)
    with pytest.raises(BadAnswerError):
        _check({"X-Vox-Receipt": other.signature.hex(), "X-Vox-Amount": "30"})


def test_payment_headers_and_problems() -> None:
    voucher = sign_voucher(PAYER, CHAIN, CID, 7)
    assert payment_headers(voucher) == {
        "X-Vox-Channel": CID.hex(),
        "X-Vox-Amount": "7",
        "X-Vox-Voucher": voucher.signature.hex(),
    }
    body = b'{"error": {"code": "voucher_stale", "message": "m", "price": 5, "channel": null,'
    body += b' "amount_needed": 15, "accepted": 10}}'
    p = parse_problem(402, body)
    assert (p.code, p.price, p.amount_needed, p.accepted) == ("voucher_stale", 5, 15, 10)
    assert parse_problem(502, b"<html>bad gateway").code == "malformed_error"
    assert parse_problem(402, b'{"error": {"code": 3}}').code == "malformed_error"
