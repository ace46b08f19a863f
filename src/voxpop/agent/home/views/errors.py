"""A form's bad input, in words an owner understands, with a stable code; nothing was sent.

`INPUT_WORDS` holds the sentence of each code (the home's error map, words.py, takes them in:
`register_words`), so the tx-progress box shows them like any other error."""

from __future__ import annotations

from collections.abc import MutableMapping

INPUT_WORDS: dict[str, str] = {
    "invalid_address": "That is not a voxpop address: an address starts with vox1 and is 42 "
    "characters long. Nothing was sent.",
    "send_to_self": "That is your own address, so nothing would move. Nothing was sent.",
    "invalid_amount": "That amount cannot be used: write it in VOX, like 2 or 0.5 (at most 6 "
    "decimals, more than zero). Nothing was sent.",
    "invalid_cap": "That limit cannot be used: write it in VOX, like 5 or 0.5. Nothing was "
    "changed.",
    "unknown_proposal": "Choose one of the proposals listed here. Nothing was sent.",
    "invalid_vote_option": "Choose yes, no, abstain or veto. Nothing was sent.",
    "invalid_validator": "Choose a validator from the list. Nothing was sent.",
    "unknown_grant": "That grant is not one of yours. Nothing was changed.",
    "grant_not_live": "That grant has already ended (revoked, expired or used up): there is "
    "nothing to revoke.",
    "invalid_policy": "The sharing policy was not saved: one of its fields is not valid.",
    "no_data_home": "Your sharing policy is kept where your key is: change it there with "
    "`voxpop data policy set`.",
    "no_agent_grants": "Your agent holds no permissions yet: authorize it first.",
}


def register_words(words: MutableMapping[str, str]) -> None:
    """Add the input codes' sentences to the home's error map (those it has stay)."""
    for code, sentence in INPUT_WORDS.items():
        words.setdefault(code, sentence)


class InputError(ValueError):
    """What the owner typed cannot be used (`code` is stable; `message` is for the owner)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
