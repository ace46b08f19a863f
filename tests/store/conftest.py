from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voxpop.store import MerkleStore

OpenStore = Callable[..., MerkleStore]


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[OpenStore]:
    """Opens stores under tmp_path (by name, default "state"); closes them all afterwards."""
    opened: list[MerkleStore] = []

    def open_named(name: str = "state", **options: Any) -> MerkleStore:
        store = MerkleStore(tmp_path / name, **options)
        opened.append(store)
        return store

    yield open_named
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> MerkleStore:
    return open_store()
