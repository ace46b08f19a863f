"""The user agent: serves the Selene device API that Mycroft and OpenVoiceOS devices speak, next
to the devices, and acts on chain for their owner under the owner's authz grant.

    voxpop agent start --home DIR

Everything the agent keeps locally (tokens, a verified cache of chain reads, OAuth tokens,
uploads) is in `LocalStore`, encrypted with a key derived from the agent key. See
docs/operations/agent.md.
"""

from voxpop.agent.config import AgentConfig, init_agent_home, load_config
from voxpop.agent.errors import AgentConfigError, AgentError

__all__ = ["AgentConfig", "AgentConfigError", "AgentError", "init_agent_home", "load_config"]
