"""Errors the client SDK raises.

VoxClientError
  ApiError                  the node answered with an error {code, numeric_code, message}
    TxRejectedError         a tx refused by check_tx (400, codespace voxpop); nothing changed
    NotFoundError           404: block_not_found, tx_not_found, height_not_available, ...
    ServerError             5xx: a fault in the node, not in the request
  ProofVerificationError    a proof, header or signature did not verify: do not trust the answer
    StaleResponseError      a proven "latest" answer from below the highest height already seen
  TxWaitTimeoutError        wait_for_tx gave up before the tx was committed
  NodeUnreachableError      no answer (connection refused, timeout)
  ProtocolError             an answer that is not what the API documents
  AmountError               a malformed amount ("1.5vox", "1500000uvox", "1500000")
  NoPublishedKeysError      encrypt_to an account that publishes no encryption keys (or revoked)
"""

from __future__ import annotations


class VoxClientError(Exception):
    """Base class of every error the client raises. `code` is stable and machine-readable."""

    code: str = "client_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(VoxClientError):
    """The node refused the request. `code` is the API's stable name (docs/api.md)."""

    def __init__(
        self,
        code: str,
        numeric_code: int | None,
        message: str,
        status: int,
        codespace: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.numeric_code = numeric_code
        self.status = status
        self.codespace = codespace

    def __str__(self) -> str:
        return f"[{self.code}] {self.message} (HTTP {self.status})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, numeric_code={self.numeric_code!r}, "
            f"message={self.message!r}, status={self.status!r})"
        )


class TxRejectedError(ApiError):
    """check_tx refused the tx (e.g. insufficient_funds, wrong_sequence); state is unchanged."""


class NotFoundError(ApiError):
    """The thing asked for does not exist (yet)."""


class ServerError(ApiError):
    """The node failed (HTTP 5xx)."""


class ProofVerificationError(VoxClientError):
    """A Merkle proof, block header or header signature failed verification."""

    code = "proof_verification_failed"


class StaleResponseError(ProofVerificationError):
    """A "latest" answer, correctly proven, but from a height more than the client's
    `max_height_lag` below the highest height it has already verified: an old state replayed (by a
    lagging node, or by someone in the middle). `height` is the answer's, `highest_seen` the
    client's."""

    code = "stale_response"

    def __init__(self, message: str, height: int, highest_seen: int) -> None:
        super().__init__(message)
        self.height = height
        self.highest_seen = highest_seen


class TxWaitTimeoutError(VoxClientError):
    code = "tx_wait_timeout"


class NodeUnreachableError(VoxClientError):
    code = "node_unreachable"


class ProtocolError(VoxClientError):
    code = "protocol_error"


class AmountError(VoxClientError, ValueError):
    code = "invalid_amount"


class NoPublishedKeysError(VoxClientError):
    """The account has no encryption keys in the key directory (never published, or revoked)."""

    code = "no_published_keys"


class LightClientError(ProofVerificationError):
    """A CometBFT signed header or validator set failed the light client's rules (docs/client.md).

    `code` names the rule broken, stable for machines: insufficient_voting_power,
    cannot_trust_validators, wrong_chain_id, validators_hash_mismatch, block_id_mismatch,
    invalid_signature, header_expired, header_from_future, not_monotonic, malformed_header.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConflictingHeadersError(LightClientError):
    """Two nodes served different verified headers for one height: a fork, or a lying node.
    Do not trust either until it is resolved. `height`, and each node's block hash by URL."""

    def __init__(self, height: int, hashes: dict[str, bytes]) -> None:
        listed = ", ".join(f"{url}: {h.hex()}" for url, h in sorted(hashes.items()))
        super().__init__("conflicting_headers", f"nodes disagree on block {height}: {listed}")
        self.height = height
        self.hashes = hashes
