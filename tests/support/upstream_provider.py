"""A provider process for the engines that take options (openweathermap, wolframalpha), for as
long as `voxpop provider start` has no `--engine-option` flag (docs/operations/engines.md,
"Engine options"): the same Provider and gateway the CLI runs, in its own process, with the
engine made by `make_engine(..., options=...)` as the docs say to do from Python.

    provider = start_upstream_provider(home, account, node_url=..., kind="weather",
                                       engine="openweathermap", options={...}, port=port)

Uses the CLI's flag instead once it exists.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from voxpop.client.testing import voxpop_command
from voxpop.crypto import Keyring, PrivateKey
from voxpop.provider.testing import LocalProvider

FAST = {"claim_interval": 0.2, "refresh_interval": 0.5}

_LAUNCH = """
import json, sys
from pathlib import Path
from voxpop.crypto import Keyring
from voxpop.provider import service
from voxpop.provider.engines import make_engine

spec = json.loads(sys.argv[1])
options = spec.pop("options")

def with_options(name, kind, *, grammar=None):
    return make_engine(name, kind, grammar=grammar, options=options)

service.make_engine = with_options
account = Keyring(Path(spec["home"]) / "keyring", "test").load_private_key("provider")
config = service.ProviderConfig(
    home=Path(spec["home"]), kind=spec["kind"], engine=spec["engine"],
    node_url=spec["node_url"], port=spec["port"],
    claim_interval=spec["claim_interval"], refresh_interval=spec["refresh_interval"],
)
service.Provider(config, account).run()
"""


def cli_has_engine_options() -> bool:
    argv = voxpop_command("provider", "start", "--help")
    return "--engine-option" in subprocess.run(argv, capture_output=True, text=True).stdout


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
    if cli_has_engine_options():
        extra = ["--claim-interval", "0.2", "--refresh-interval", "0.5"]
        for name, value in options.items():
            extra += ["--engine-option", f"{name}={value}"]
        return LocalProvider.start(
            home,
            node_url=node_url,
            kind=kind,
            engine=engine,
            port=port,
            extra=extra,
            timeout=timeout,
        )
    spec = {
        "home": str(home),
        "kind": kind,
        "engine": engine,
        "node_url": node_url,
        "port": port,
        "options": options,
        **FAST,
    }
    argv = [sys.executable, "-c", _LAUNCH, json.dumps(spec)]
    return LocalProvider._spawn(home, port, argv, timeout)
