"""The CLI's naming rule (docs/cli.md), as data the help screens and the tests use.

- On-chain messages: `voxpop tx <module> <verb>`.
- Reads: `voxpop query <module> <what>`; the chain's own records, which belong to no module, are
  `voxpop query block|tx|status`.
- Off-chain roles: `voxpop <role> start|status|...`.
- Owner tools that combine several steps: top-level nouns.
"""

from __future__ import annotations

CHAIN_RECORDS = ("block", "tx", "status")
ROLES = ("node", "agent", "provider", "storage", "privacy", "explorer")
OWNER_TOOLS = (
    "keys",
    "device",
    "skill",
    "settings",
    "data",
    "market",
    "swap",
    "inbox",
    "contract",
)
# sim: a simulated network on this machine (issue 19: the economics on the real state machine)
LOCAL_NETWORKS = ("devnet", "testnet", "sim")

# Names kept from before the rule, hidden from --help: old name -> the name under the rule
ALIASES = {("query", "account"): ("query", "auth", "account")}

ON_CHAIN_PANEL = "On chain: voxpop tx <module> <verb>, voxpop query <module> <what>"
ROLES_PANEL = "Off-chain roles: voxpop <role> start|status|..."
OWNER_TOOLS_PANEL = "Owner tools"
LOCAL_NETWORKS_PANEL = "Local networks"
MODULES_PANEL = "Modules"
CHAIN_RECORDS_PANEL = "The chain's own records"


def top_level_panel(name: str) -> str:
    """The --help panel a top-level command is listed in."""
    if name in ("tx", "query"):
        return ON_CHAIN_PANEL
    if name in ROLES:
        return ROLES_PANEL
    if name in OWNER_TOOLS:
        return OWNER_TOOLS_PANEL
    if name in LOCAL_NETWORKS:
        return LOCAL_NETWORKS_PANEL
    raise ValueError(f"{name!r} fits no part of the CLI naming rule (docs/cli.md)")
