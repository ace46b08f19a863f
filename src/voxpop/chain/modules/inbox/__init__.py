"""Inbox: messages to an owner, sealed to its directory key, kept on chain until they expire."""
