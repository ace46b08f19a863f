"""`voxpop tx grant post-bond|withdraw-bond` and `voxpop query grant bond` against a real solo
node: a sponsor bonds a key, the key's own account withdraws it, more than the bond refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.test_directory_cli import run  # `voxpop ARGS --output json` against a node
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

SPONSOR_SEED = bytes([51]) * 32
REGISTRAR_SEED = bytes([52]) * 32  # a key not listed: its bond is all its own to take back
REGISTRAR_KEY = PrivateKey(REGISTRAR_SEED).public_key.raw.hex()
FUNDS = 1_000_000_000_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("grant-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    sponsor = keyring.import_seed("sponsor", SPONSOR_SEED)
    registrar = keyring.import_seed("registrar", REGISTRAR_SEED)
    funds = {sponsor.address: FUNDS, registrar.address: FUNDS}
    with LocalNode.start(home, funds=funds) as running:
        yield running


def test_post_read_and_withdraw_a_bond(node: LocalNode) -> None:
    code, out = run(node, "tx", "grant", "post-bond", "sponsor", REGISTRAR_KEY, "3vox")
    assert code == 0 and out["code"] == 0, out
    code, bond = run(node, "query", "grant", "bond", REGISTRAR_KEY, "--prove")
    assert code == 0 and bond["bond"] == 3_000_000 and bond["verified"], bond
    # More than the bond: refused with its code, the bond untouched
    code, out = run(node, "tx", "grant", "withdraw-bond", "registrar", "4vox")
    assert code != 0 and out["error"]["code"] == "bond_exceeded", out
    # Another key than the registrar's own: refused before anything is sent
    argv = ("tx", "grant", "withdraw-bond", "sponsor", "1vox", "--registrar", REGISTRAR_KEY)
    code, out = run(node, *argv)
    assert code != 0 and out["error"]["code"] == "unauthorized", out
    code, out = run(node, "tx", "grant", "withdraw-bond", "registrar", "3vox")
    assert code == 0 and out["code"] == 0, out
    _, bond = run(node, "query", "grant", "bond", REGISTRAR_KEY)
    assert bond["bond"] == 0
