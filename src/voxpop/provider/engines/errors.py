"""The engines' errors beyond the interface's four, each with a stable code the gateway answers.

Every one is an EngineError, so the gateway answers it and charges nothing: a `prepare` error comes
before the voucher is checked, a `run` error gives the voucher's reservation back.
"""

from __future__ import annotations

from voxpop.provider.engines import BadRequestError, EngineError


class UnsupportedLanguageError(BadRequestError):
    code = "unsupported_language"


class UpstreamBadAnswerError(EngineError):
    """The upstream answered an error or something that is not what its API answers. (An
    upstream that does not answer in time is EngineUnavailableError, 503.)"""

    code = "upstream_bad_answer"
    status = 502


class NotFoundError(EngineError):
    """The request was well formed but there is nothing to answer (no such place)."""

    code = "not_found"
    status = 404
