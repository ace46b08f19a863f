"""The agent's typed errors: each has a stable `code` the CLI and the logs report."""

from __future__ import annotations


class AgentError(Exception):
    """An agent failure with a stable code."""

    code = "agent_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class AgentConfigError(AgentError):
    code = "invalid_agent_config"


class AgentKeyError(AgentError):
    code = "agent_key_unavailable"


class StoreError(AgentError):
    code = "agent_store_error"


class ChainUnavailableError(AgentError):
    """No node answered and the verified cache holds nothing for the read."""

    code = "chain_unavailable"


class ChainRejectedError(AgentError):
    """A node refused a tx the agent sent (the message is the chain's reason)."""

    code = "chain_rejected"
