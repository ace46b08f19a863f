"""`voxpop agent oauth-link CRED --home DIR`: a link the owner opens in a browser to connect the
OAuth app CRED of agent.toml (docs/operations/agent-services.md, "OAuth for skills")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from voxpop.cli.agent import agent_app
from voxpop.cli.output import OutputFormat, OutputOption, emit, fail

HomeOption: Any = typer.Option(..., "--home", help="the agent's home (agent.toml, keyring, store)")


@agent_app.command("oauth-link")
def oauth_link(
    cred: str = typer.Argument(..., help="the credential name: the oauth.CRED table of agent.toml"),
    home: Path = HomeOption,
    output: OutputFormat = OutputOption,
) -> None:
    """A link that connects the OAuth app CRED in your browser (valid 10 minutes). Open it on a
    machine that reaches the agent's address; the app's redirect URI must be the agent's
    /v1/oauth/callback."""
    from voxpop.agent import AgentError, load_config
    from voxpop.agent.keys import load_agent_key
    from voxpop.agent.oauth import OAuthBroker, load_apps
    from voxpop.agent.store import LocalStore

    try:
        config = load_config(home)
        key = load_agent_key(config)
        store = LocalStore.open(config.home, key)
        try:
            url = OAuthBroker(store, load_apps(config.home), key.seed).connect_url(cred, config.url)
        finally:
            store.close()
    except AgentError as exc:
        fail(exc.code, str(exc), output)
    emit({"credential": cred, "url": url, "valid_seconds": 600}, output)
