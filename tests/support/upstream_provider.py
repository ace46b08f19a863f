"""A provider process for the engines that take options (openweathermap, wolframalpha), started
through `voxpop provider start ... --engine-option NAME=VALUE` as an operator would.

    provider = start_upstream_provider(home, account, node_url=..., kind="weather",
                                       engine="openweathermap", options={...}, port=port)
"""

from __future__ import annotations

from pathlib import Path

from voxpop.crypto import Keyring, PrivateKey
from voxpop.provider.testing import LocalProvider


def start_upstream_provider(
    home: Path,
    account: PrivateKey,
    *,
    node_url: str,
    kind: str,
    engine: str,
    options: dict[str, str],
    port: int,
    timeout: float = 60.0,
) -> LocalProvider:
    Keyring(home / "keyring", "test").import_seed("provider", account.seed)
    extra = ["--claim-interval", "0.2", "--refresh-interval", "0.5"]
    for name, value in options.items():
        extra += ["--engine-option", f"{name}={value}"]
    return LocalProvider.start(
        home, node_url=node_url, kind=kind, engine=engine, port=port, extra=extra, timeout=timeout
    )
