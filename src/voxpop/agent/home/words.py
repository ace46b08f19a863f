"""Errors in words an owner who is not a blockchain person understands.

Every error the home shows has a stable code (the chain's error name, an owner flow's code, or the
home's own) and one sentence here; a code without a sentence gets the fallback, which still names
the code so that someone helping can look it up.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    # the home's own
    "csrf_failed": "This form is out of date or did not come from this page. Reload the page "
    "and try again; nothing was changed.",
    "cross_origin": "This request came from another web site, so it was refused; nothing was "
    "changed.",
    "local_only": "Your home page only opens on the computer that runs your agent.",
    "session_locked": "Unlock with your passphrase first: this change is signed with your key.",
    "wrong_passphrase": "That passphrase is not right. Nothing was unlocked.",
    "too_many_attempts": "Too many wrong passphrases. Wait a few minutes, then try again.",
    "no_owner_key_here": "Your key is not on this computer: run the command shown where it is.",
    "owner_key_missing": "The key named in your agent's settings is not in the keyring there.",
    "not_found": "There is no such page.",
    "invalid_form": "Some of the fields are missing or not filled in the right way.",
    "chain_unavailable": "Your agent cannot reach the network right now. What you see may be a "
    "little old; try the change again in a minute.",
    "chain_error": "The network gave an answer your agent could not check, so it was not used. "
    "Try again in a minute.",
    "tx_pending": "Sent; waiting for the network to confirm it.",
    # owner flows (client/devices.py)
    "invalid_pairing_code": "That is not a pairing code: a code is the 6 letters and digits "
    "your device says out loud.",
    "pairing_not_found": "No device is waiting with that code. Check the letters, or ask the "
    "device for a new code (codes expire).",
    "pairing_expired": "That code has expired. Ask the device for a new one.",
    "device_not_found": "That device is not one of yours any more (removed, or never paired).",
    "ambiguous_device": "More than one device matches; pick it from the list.",
    "invalid_device_name": "A device name is 1 to 64 characters.",
    "invalid_settings": "These settings could not be read; they may have been written by a "
    "newer version.",
    "invalid_setting": "One of the values is not valid for its field.",
    "settings_no_key": "Your settings key is not shared with this agent yet: run "
    "`voxpop settings rotate` once where your key is.",
    "no_settings_key": "Your settings key is not shared with this agent yet: run "
    "`voxpop settings rotate` once where your key is.",
    "device_required": "This skill keeps its settings per device: choose the device.",
    # the chain's (chain/errors.py names)
    "insufficient_funds": "There is not enough VOX in the account for this.",
    "insufficient_fee": "The network fee offered was too low.",
    "out_of_gas": "The change was bigger than the work it was allowed; nothing was changed.",
    "wrong_sequence": "Another change from your account went first. Try again.",
    "unauthorized": "This account is not allowed to make that change.",
    "authorization_exceeded": "Your agent reached today's spending limit you set.",
    "authorization_expired": "Your agent's permission has expired: authorize it again.",
    "no_authorization": "Your agent has no permission for this: authorize it again.",
    "allowance_exceeded": "Your agent's fee allowance for today is used up.",
    "allowance_expired": "Your agent's fee allowance has expired: authorize it again.",
    "settings_version_conflict": "These settings changed meanwhile (another device or page). "
    "Reload and try again.",
    "settings_stale_epoch": "Your settings key changed meanwhile. Reload and try again.",
    "settings_record_too_large": "These settings are too large to store.",
    "chain_rejected": "The network refused this change; nothing was changed.",
    "commit_timeout": "The network took too long to confirm. It may still go through: check "
    "again in a minute before repeating it.",
}

FALLBACK = (
    "Something went wrong ({code}). Nothing was changed. Try again; if it keeps happening, ask for "
    "help and give this code."
)


def in_words(code: str) -> str:
    """The sentence for `code`, or the fallback naming it."""
    return WORDS.get(code) or FALLBACK.format(code=code or "unknown")
