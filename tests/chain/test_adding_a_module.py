"""docs/adding-a-module.md builds a toy module; this test builds it from the page's own code."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from tests.chain.harness import Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.module import message_table
from voxpop.chain.registry import default_modules
from voxpop.cli.declare import mount
from voxpop.store.proof import Proof, verify_proof

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-module.md"
OWNER = key(1)


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The `notes` package written from the page's code blocks, imported."""
    root = tmp_path_factory.mktemp("toy")
    package = root / "notes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    blocks = re.findall(r"```python\n# notes/(\w+)\.py\n(.*?)```", DOC.read_text(), re.S)
    assert {name for name, _ in blocks} == {"messages", "state", "handlers", "module", "commands"}
    for name, code in blocks:
        (package / f"{name}.py").write_text(code)
    sys.path.insert(0, str(root))
    try:
        yield {name: importlib.import_module(f"notes.{name}") for name, _ in blocks}
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "notes" or m.startswith("notes.")]:
            del sys.modules[name]


@pytest.fixture
def chain(notes: dict[str, ModuleType], tmp_path: Path) -> Iterator[Chain]:
    modules = [*default_modules(), notes["module"].NotesModule()]
    c = Chain.start(tmp_path / "chain", [(OWNER, 10**9)], modules=modules)
    yield c
    c.app.store.close()


def test_toy_module_sets_and_proves_a_note(notes: dict[str, ModuleType], chain: Chain) -> None:
    owner = OWNER.public_key.address
    result = chain.deliver(chain.tx(OWNER, [("notes/Set", {"owner": owner, "text": "hello"})]))
    assert result.code == 0, result.log
    assert [e.type for e in result.events if e.type == "note_set"] == ["note_set"]
    res = chain.app.query(RequestQuery(data=owner, path="/notes/note", prove=True))
    assert res.code == 0 and res.value == b"hello"
    assert verify_proof(chain.app.last_app_hash, res.key, res.value, Proof.decode(res.proof))
    # An empty text deletes it
    assert chain.deliver(chain.tx(OWNER, [("notes/Set", {"owner": owner, "text": ""})])).code == 0
    assert chain.app.query(RequestQuery(data=owner, path="/notes/note")).value == b""


def test_invalid_toy_messages_fail_with_codes(chain: Chain) -> None:
    owner = OWNER.public_key.address
    too_long = chain.check(chain.tx(OWNER, [("notes/Set", {"owner": owner, "text": "x" * 141})]))
    assert too_long.code == errors.InvalidMessageError.code
    other = key(2).public_key.address
    stolen = chain.check(chain.tx(OWNER, [("notes/Set", {"owner": other, "text": "hi"})]))
    assert stolen.code == errors.UnauthorizedError.code


def test_toy_readme_table_is_the_pages(notes: dict[str, ModuleType]) -> None:
    table = message_table([notes["messages"].MsgSetNote])
    assert table in DOC.read_text()


def test_toy_commands_mount_with_the_shared_options(notes: dict[str, ModuleType]) -> None:
    app = typer.Typer()
    mount(app, notes["commands"].COMMANDS, {"notes": "Notes."})
    out = CliRunner().invoke(app, ["notes", "set", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    for option in (
        "--fee",
        "--gas",
        "--memo",
        "--mode",
        "--node",
        "--home",
        "--keyring-backend",
        "--passphrase-file",
        "--output",
    ):
        assert option in out.output
    assert "FROM" in out.output and "TEXT" in out.output
    out = CliRunner().invoke(app, ["notes", "note", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "--prove" in out.output
