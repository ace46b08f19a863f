"""The `voxpop` command: one CLI for every role. Each group lives in its own module; the names
follow the rule in cli/naming.py (docs/cli.md)."""

from __future__ import annotations

import typer

from voxpop.cli.agent import agent_app
from voxpop.cli.contract import contract_app
from voxpop.cli.data import data_app
from voxpop.cli.data_consent import consent_app
from voxpop.cli.device import device_app
from voxpop.cli.devnet import devnet_app
from voxpop.cli.explorer import explorer_app
from voxpop.cli.inbox import inbox_app
from voxpop.cli.keys import keys_app
from voxpop.cli.market import market_app
from voxpop.cli.naming import top_level_panel
from voxpop.cli.node import node_app
from voxpop.cli.privacy import privacy_app
from voxpop.cli.provider import provider_app
from voxpop.cli.query import query_app
from voxpop.cli.settings_cmd import settings_app
from voxpop.cli.sim import sim_app
from voxpop.cli.skill import skill_app
from voxpop.cli.storage import storage_app
from voxpop.cli.swap import swap_app
from voxpop.cli.testnet import testnet_app
from voxpop.cli.tx import tx_app

app = typer.Typer(
    name="voxpop",
    help="voxpop: a decentralized backend for open voice assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for name, group in (
    ("tx", tx_app),
    ("query", query_app),
    ("node", node_app),
    ("keys", keys_app),
    ("devnet", devnet_app),
    ("testnet", testnet_app),
    ("sim", sim_app),
    ("provider", provider_app),
    ("storage", storage_app),
    ("privacy", privacy_app),
    ("explorer", explorer_app),
    ("agent", agent_app),
    ("device", device_app),
    ("skill", skill_app),
    ("inbox", inbox_app),
    ("settings", settings_app),
    ("contract", contract_app),
    ("data", data_app),
    ("market", market_app),
    ("swap", swap_app),
):
    app.add_typer(group, name=name, rich_help_panel=top_level_panel(name))


# `voxpop data policy|label|grant|...` (issue 14) join the data group from their own module
data_app.add_typer(consent_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
