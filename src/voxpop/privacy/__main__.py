"""The lean entry point `voxpop privacy start` serves from: `python -m voxpop.privacy --home DIR`.

A privacy node runs for months and a devnet runs three: the process holds only what serving
needs, not the whole CLI, which `voxpop privacy start` replaces itself with this entry to shed
(as the storage node does). The options are in HOME/privacy.toml (written by `voxpop privacy
start`); the keyring passphrase comes from --passphrase-file or $VOXPOP_KEYRING_PASSPHRASE.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

# httpx imports its command-line client (and rich) when click is installed; never run here
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# httpcore tries `import sniffio` on every async request; a failed import is not cached, so
# without sniffio installed each of the node's chain reads searched sys.path again (~0.3 ms of
# stat calls, about a hundred reads a second while it records): marked absent once
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    from voxpop.crypto import encode_address
    from voxpop.crypto.keys import PrivateKey
    from voxpop.privacy.config import PrivacyConfig, PrivacyConfigError, load_config
    from voxpop.privacy.service import PrivacyNode, PrivacyNodeError
    from voxpop.provider.service import ProviderError
    from voxpop.storage.__main__ import role_main

    def start(config: PrivacyConfig, account: PrivateKey) -> Callable[[], None]:
        node = PrivacyNode(config, account)
        sys.stderr.write(
            f"voxpop privacy {encode_address(node.address)} serving {config.url} "
            f"(reencrypt at {config.price} uvox) on {config.node}\n"
        )
        return node.run

    errors = (PrivacyConfigError, PrivacyNodeError, ProviderError)
    return role_main("privacy", __doc__, argv, load_config, start, errors)


if __name__ == "__main__":
    sys.exit(main())
