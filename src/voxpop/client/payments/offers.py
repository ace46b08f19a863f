"""Offers, reputations and channels read from the chain, each verified by the light client
(proven against a signed header): a node cannot make the client pay an impostor's key."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import ChainError
from voxpop.chain.modules.channels.state import Channel
from voxpop.chain.modules.services.state import Offer, Reputation, decode_offer
from voxpop.client.errors import ProtocolError
from voxpop.client.sync import VoxClient
from voxpop.crypto.address import encode_address

OFFERS_PATH = "/services/offers"
OFFER_PATH = "/services/offer"
REPUTATION_PATH = "/services/reputation"
CHANNEL_PATH = "/channels/channel"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One provider's active offer of `kind`, with its reputation facts."""

    provider: bytes
    kind: str
    offer: Offer
    reputation: Reputation

    @property
    def name(self) -> str:
        return encode_address(self.provider)


def fetch_candidates(vox: VoxClient, kind: str) -> list[Candidate]:
    """Every active offer of `kind`, from the proven list by kind, with each provider's proven
    reputation. Raises ProofVerificationError, ProtocolError."""
    listed = vox.query_list(OFFERS_PATH, kind.encode(), prove=True)
    out = []
    for item in listed.items:
        provider = item.id
        try:
            offer = decode_offer(item.value)
        except (ChainError, KeyError, TypeError, ValueError):
            raise ProtocolError(f"malformed offer of {encode_address(provider)}") from None
        # Verify the offer is still active (a leaving offer is unlisted; be strict anyway)
        if offer.leaving_at:
            continue
        out.append(Candidate(provider, kind, offer, fetch_reputation(vox, provider)))
    return out


def fetch_reputation(vox: VoxClient, provider: bytes) -> Reputation:
    result = vox.query(REPUTATION_PATH, provider, prove=True)
    if not result.value:
        return Reputation()
    try:
        return Reputation.from_value(decode_state(result.value))
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed reputation of {encode_address(provider)}") from None


def fetch_channel(vox: VoxClient, channel_id: bytes) -> Channel | None:
    """The channel as the chain holds it (None: never opened, or ended), proven."""
    result = vox.query(CHANNEL_PATH, channel_id, prove=True)
    if not result.value:
        return None
    try:
        return Channel.from_value(decode_state(result.value))
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed channel {channel_id.hex()}") from None
