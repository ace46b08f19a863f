"""The counter against a real solo node: `voxpop contract test` builds contract.ts, starts a node
and runs this file with pytest. Add a test per thing your contract promises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voxpop.contracts.build import built_wasm
from voxpop.contracts.testing import ContractChain, ContractTxError

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractChain]:
    # One node for the whole file: starting one takes a few seconds
    with ContractChain.start(tmp_path_factory.mktemp("node")) as chain:
        yield chain


@pytest.fixture(scope="module")
def counter(chain: ContractChain) -> str:
    code_id = chain.store("alice", built_wasm(HERE))
    return chain.instantiate("alice", code_id, {"count": 5})


def test_anyone_adds(chain: ContractChain, counter: str) -> None:
    chain.execute("bob", counter, {"add": {"by": 2}})
    assert chain.query(counter, {"count": {}}) == {"count": 7}


def test_only_the_owner_resets(chain: ContractChain, counter: str) -> None:
    with pytest.raises(ContractTxError, match="only the owner"):
        chain.execute("bob", counter, {"reset": {}})
    chain.execute("alice", counter, {"reset": {}})
    assert chain.query(counter, {"count": {}}) == {"count": 0}
