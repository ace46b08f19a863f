"""Inbox: messages to an owner, sealed to its directory key, kept on chain until they expire.
What other modules and clients may use of it."""

from voxpop.chain.modules.inbox.state import InboxMessage, get_message

__all__ = ["InboxMessage", "get_message"]
