"""Plain names for what the chain and the roles call by code: service kinds, message types."""

from __future__ import annotations

SERVICE_LABELS = {
    "stt": "Speech to text",
    "tts": "Text to speech",
    "weather": "Weather",
    "knowledge": "Answers to questions",
    "geolocation": "Place search",
    "translate": "Translation",
    "reencrypt": "Data sharing (privacy nodes)",
    "storage": "Storage",
}

SPENDING_LABELS = {
    "channels/Open": "Opening payment channels with services",
    "channels/TopUp": "Adding money to payment channels",
    "skills/Settle": "Paying skill creators (royalties)",
}

# Fixed colours, one per service in the order of SERVICE_LABELS, then a cycle for the others
PALETTE = ("#2b6cb0", "#38a169", "#d69e2e", "#805ad5", "#dd6b20", "#319795", "#b83280", "#718096")


def service_label(kind: str) -> str:
    return SERVICE_LABELS.get(kind, kind.replace("_", " ").capitalize())


def service_color(kind: str, others: list[str]) -> str:
    """The colour of `kind`: its own for a known service, else by its place among `others`."""
    known = list(SERVICE_LABELS)
    if kind in known:
        return PALETTE[known.index(kind) % len(PALETTE)]
    return PALETTE[(len(known) + others.index(kind)) % len(PALETTE)]
