"""Typed errors of the owner's and buyer's consent client, each with a stable code (the CLI prints
it; docs/protocol/errors.md lists them under "consent client")."""

from __future__ import annotations


class ConsentClientError(Exception):
    """Base class: `code` is stable, `message` says what to do."""

    code = "consent_client_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class PolicyError(ConsentClientError):
    """The policy file is missing a field, has a wrong type, or would share a forbidden kind."""

    code = "policy_invalid"


class LabelError(ConsentClientError):
    """An object to label or grant is not in the owner's local index, or is unlabelled."""

    code = "label_invalid"


class GrantError(ConsentClientError):
    """A grant could not be made: too few privacy nodes, a node refused its kfrag, a tx failed."""

    code = "grant_failed"


class FetchError(ConsentClientError):
    """The buyer could not collect an object: fewer than m nodes answered, or what decrypted does
    not match the content hash the grant committed to."""

    code = "fetch_failed"
