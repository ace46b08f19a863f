"""The provider gateway's HTTP protocol, the payer's side: payment headers, the 402 problem,
and checking a paid answer's receipt (docs/client.md, Payments)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from voxpop.client.payments.errors import BadAnswerError, PaymentError
from voxpop.crypto.vouchers import Receipt, Voucher

HEADER_CHANNEL = "X-Vox-Channel"
HEADER_AMOUNT = "X-Vox-Amount"
HEADER_VOUCHER = "X-Vox-Voucher"
HEADER_RECEIPT = "X-Vox-Receipt"
STT = "stt"
SECONDS_PER_UNIT = 10


class BadAudioError(PaymentError):
    """An stt request whose audio cannot be decoded: it cannot be priced, so it is not sent."""

    code = "bad_audio"


@dataclass(frozen=True, slots=True)
class Problem:
    """A provider's refusal: its stable `code` (402: payment_required, unknown_channel,
    channel_closing, wrong_payee, voucher_invalid, voucher_stale, underpaid, over_deposit;
    400 bad_request, 413 too_large, 503 engine_unavailable), and what it says it holds."""

    status: int
    code: str
    message: str
    price: int | None = None
    amount_needed: int | None = None
    accepted: int | None = None


def price_units(kind: str, body: bytes) -> int:
    """How many price units a call costs: 1, or for stt the started 10 seconds of audio (at
    least 1), counted in the frames the gateway bills (soundfile's). Raises BadAudioError."""
    if kind != STT:
        return 1
    frames, rate = header_frames(body) or decoded_frames(body)
    return max(1, -(-frames // (rate * SECONDS_PER_UNIT)))


def header_frames(body: bytes) -> tuple[int, int] | None:
    """(frames, sample rate) as a FLAC STREAMINFO or a PCM WAV header states them, or None when
    the header does not say (no frame count, a size past the end, another format): reading a
    header keeps numpy, which soundfile brings (about 11 MB), out of a paying agent."""
    if body[:4] == b"fLaC":
        return flac_frames(body)
    if body[:4] == b"RIFF" and body[8:12] == b"WAVE":
        return wav_frames(body)
    return None


def flac_frames(body: bytes) -> tuple[int, int] | None:
    import mutagen.flac

    try:
        info = mutagen.flac.FLAC(io.BytesIO(body)).info  # type: ignore[no-untyped-call]
    except mutagen.MutagenError:
        return None
    # Verify STREAMINFO states the length: 0 total samples means "unknown" (a streamed encode)
    if info.total_samples <= 0 or info.sample_rate <= 0:
        return None
    return int(info.total_samples), int(info.sample_rate)


def wav_frames(body: bytes) -> tuple[int, int] | None:
    import wave

    stream = io.BytesIO(body)
    try:
        with wave.open(stream, "rb") as audio:
            frames, rate, width = audio.getnframes(), audio.getframerate(), audio.getsampwidth()
            frame_bytes = width * audio.getnchannels()
            # wave stops reading at the data chunk's header: what follows is the audio
            available = len(body) - stream.tell()
    except (wave.Error, EOFError, ValueError):
        return None  # not PCM (float, extensible) or malformed: soundfile decides
    # Verify the data chunk's stated size fits in the body: a streamed WAV states a
    # placeholder, and libsndfile then counts what is there
    if rate <= 0 or frame_bytes <= 0 or frames * frame_bytes > available:
        return None
    return frames, rate


def decoded_frames(body: bytes) -> tuple[int, int]:
    """(frames, sample rate) as soundfile reads them, for audio whose header does not say.
    Raises BadAudioError."""
    import soundfile  # type: ignore[import-untyped, unused-ignore]

    try:
        info = soundfile.info(io.BytesIO(body))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise BadAudioError(f"the stt request is not audio soundfile can read: {exc}") from None
    if int(info.samplerate) <= 0:
        raise BadAudioError("the audio has no sample rate")
    return int(info.frames), int(info.samplerate)


def payment_headers(voucher: Voucher) -> dict[str, str]:
    return {
        HEADER_CHANNEL: voucher.channel_id.hex(),
        HEADER_AMOUNT: str(voucher.amount),
        HEADER_VOUCHER: voucher.signature.hex(),
    }


def parse_problem(status: int, body: bytes) -> Problem:
    """The error a provider answered with; a body that is not the documented JSON still gives
    a Problem (code `malformed_error`), never an exception."""
    try:
        doc: Any = json.loads(body)
        err = doc["error"]
        code = err["code"]
        if not isinstance(code, str):
            raise TypeError("code")
    except (ValueError, KeyError, TypeError):
        return Problem(status, "malformed_error", body[:200].decode("utf-8", "replace"))

    def number(name: str) -> int | None:
        value = err.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    message = err.get("message")
    return Problem(
        status,
        code,
        message if isinstance(message, str) else "",
        number("price"),
        number("amount_needed"),
        number("accepted"),
    )


def check_receipt(
    *,
    chain_id: str,
    signing_key: bytes,
    voucher: Voucher,
    request: bytes,
    response: bytes,
    headers: Any,
) -> Receipt:
    """The receipt of a 200 answer, verified: signed by the offer's `signing_key` for this chain,
    over the hashes of the request and response bodies the client itself computed, for the
    voucher's channel and amount. Raises BadAnswerError (the answer is not counted as paid)."""
    sig_hex = headers.get(HEADER_RECEIPT)
    amount_text = headers.get(HEADER_AMOUNT)
    # Verify the answer carries a receipt and the amount it accepted
    if not sig_hex or not amount_text:
        raise BadAnswerError("the answer has no receipt")
    try:
        signature = bytes.fromhex(sig_hex)
        amount = int(amount_text, 10)
    except ValueError:
        raise BadAnswerError("the receipt headers are malformed") from None
    # Verify the provider accepted exactly the amount this voucher paid
    if amount != voucher.amount:
        raise BadAnswerError(f"the provider says it accepted {amount}, not {voucher.amount}")
    receipt = Receipt(
        voucher.channel_id,
        hashlib.sha256(request).digest(),
        hashlib.sha256(response).digest(),
        amount,
        signature,
    )
    # Verify the signature over what was actually sent and received
    if not receipt.verify(chain_id, signing_key):
        raise BadAnswerError("the receipt does not verify with the offer's signing key")
    return receipt
