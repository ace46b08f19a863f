"""A form's bad input, in words an owner understands, with a stable code; nothing was sent."""

from __future__ import annotations


class InputError(ValueError):
    """What the owner typed cannot be used (`code` is stable; `message` is for the owner)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
