"""The declared commands, checked against the real `voxpop` app: every tx command has exactly the
shared tx options plus its own arguments, every query its set, and every name follows the naming
rule of docs/cli.md. No node is needed: these read the click tree Typer builds."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import fields
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from voxpop.chain.module import msg_fields
from voxpop.chain.modules.grant.messages import MsgClaimGrant
from voxpop.cli.commands import QUERY_COMMANDS, TX_COMMANDS
from voxpop.cli.declare import Arg, QueryCommand, TxCommand
from voxpop.cli.main import app
from voxpop.cli.naming import ALIASES, CHAIN_RECORDS, top_level_panel
from voxpop.cli.options import (
    KeyringOptions,
    RecordQueryOptions,
    StateQueryOptions,
    TxOptions,
    UnlockOptions,
)

_root = typer.main.get_command(app)
assert isinstance(_root, TyperGroup)
ROOT: TyperGroup = _root
VERB = re.compile(r"^[a-z]+(-[a-z]+)*$")


def group(*path: str) -> TyperGroup:
    node: Any = ROOT
    for name in path:
        assert isinstance(node, TyperGroup)
        node = node.commands[name]
    assert isinstance(node, TyperGroup)
    return node


def leaves(g: TyperGroup, *path: str) -> dict[tuple[str, ...], Any]:
    """Every command below `g` by its path, hidden ones included."""
    out: dict[tuple[str, ...], Any] = {}
    for name, cmd in g.commands.items():
        if isinstance(cmd, TyperGroup):
            out |= leaves(cmd, *path, name)
        else:
            out[(*path, name)] = cmd
    return out


def names(cls: type[Any]) -> set[str]:
    return {f.name for f in fields(cls)}


def declaration(param: Any) -> tuple[Any, ...]:
    """What a shared parameter must be everywhere: its flags, default, help and env var."""
    help_text = getattr(param, "help", None)
    kind = param.type_descriptor.annotation
    return (tuple(param.opts), param.default, help_text, param.envvar, kind, param.required)


def is_chain_module(name: str) -> bool:
    return importlib.util.find_spec(f"voxpop.chain.modules.{name}") is not None


# --- the shared options ---------------------------------------------------------------------------


def test_every_tx_command_has_exactly_the_shared_options() -> None:
    mounted = leaves(group("tx"))
    declared: dict[tuple[str, ...], TxCommand] = {(c.module, c.verb): c for c in TX_COMMANDS}
    # Verify nothing under `voxpop tx` is hand-written, and every declaration is mounted
    assert set(mounted) == set(declared)
    reference: dict[str, tuple[Any, ...]] = {}
    for path, cmd in mounted.items():
        own = {a.field for a in declared[path].args}
        params = {p.name: p for p in cmd.params}
        assert set(params) == names(TxOptions) | own, path
        for name in names(TxOptions):
            decl = declaration(params[name])
            assert reference.setdefault(name, decl) == decl, (path, name)
    assert reference["from_key"][0] == ("from_key",)  # FROM: the first positional argument
    assert all(next(iter(c.params)).name == "from_key" for c in mounted.values())


def test_every_query_has_exactly_its_shared_options() -> None:
    mounted = leaves(group("query"))
    declared: dict[tuple[str, ...], QueryCommand] = {
        (c.module, c.what) if c.module else (c.what,): c for c in QUERY_COMMANDS
    }
    for alias, target in ALIASES.items():
        if alias[0] == "query":
            declared[alias[1:]] = declared[target[1:]]
    assert set(mounted) == set(declared)
    reference: dict[str, tuple[Any, ...]] = {}
    for path, cmd in mounted.items():
        query = declared[path]
        shared = names(StateQueryOptions if query.module else RecordQueryOptions)
        params = {p.name: p for p in cmd.params}
        assert set(params) == shared | {a.field for a in query.args}, path
        for name in shared:
            decl = declaration(params[name])
            assert reference.setdefault(name, decl) == decl, (path, name)


def test_keys_commands_share_the_keyring_options() -> None:
    tx_send = {p.name: p for p in group("tx", "bank").commands["send"].params}
    for name, cmd in group("keys").commands.items():
        params = {p.name: p for p in cmd.params}
        shared = names(UnlockOptions) if "passphrase_file" in params else names(KeyringOptions)
        assert shared <= set(params), name
        for option in shared:
            assert declaration(params[option]) == declaration(tx_send[option]), (name, option)


# --- the declarations agree with the messages -----------------------------------------------------


@pytest.mark.parametrize("cmd", TX_COMMANDS, ids=lambda c: f"{c.module}-{c.verb}")
def test_tx_arguments_fill_the_message(cmd: TxCommand) -> None:
    keys = {f.key for f in msg_fields(cmd.msg)}
    own = [a.field for a in cmd.args]
    assert len(own) == len(set(own)) and cmd.signer not in own
    assert {cmd.signer, *own} == keys
    assert cmd.module == cmd.msg.TYPE.split("/")[0]
    assert all(a.kind is not None for a in cmd.resolved_args())


def test_invalid_argument_without_a_command_line_kind() -> None:
    # A public key has no command-line kind of its own: the declaration must say how it is given
    cmd = TxCommand("grant", "claim", MsgClaimGrant, "Claim.", args=(Arg("registrar"),))
    with pytest.raises(TypeError, match="BytesKind"):
        cmd.resolved_args()


# --- the naming rule ------------------------------------------------------------------------------


def test_command_names_follow_the_naming_rule() -> None:
    for name in ROOT.commands:
        top_level_panel(name)  # raises for a name that fits no part of the rule
    # voxpop tx <module> <verb>
    for module, g in group("tx").commands.items():
        assert isinstance(g, TyperGroup) and is_chain_module(module), module
        for verb, cmd in g.commands.items():
            assert not isinstance(cmd, TyperGroup) and VERB.match(verb), (module, verb)
    # voxpop query <module> <what>, or one of the chain's own records, or a kept alias
    for name, cmd in group("query").commands.items():
        if isinstance(cmd, TyperGroup):
            assert is_chain_module(name), name
            for what, leaf in cmd.commands.items():
                assert not isinstance(leaf, TyperGroup) and VERB.match(what), (name, what)
        elif cmd.hidden:
            assert ("query", name) in ALIASES, name
        else:
            assert name in CHAIN_RECORDS, name


def test_invalid_name_outside_the_rule() -> None:
    with pytest.raises(ValueError, match="naming rule"):
        top_level_panel("frobnicate")


def test_help_lists_commands_by_the_rule() -> None:
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    on_chain, roles = out.index("voxpop tx <module> <verb>"), out.index("voxpop <role>")
    assert on_chain < out.index(" tx ") < out.index(" query ") < roles < out.index(" node ")
    query_help = CliRunner().invoke(app, ["query", "--help"], env={"COLUMNS": "200"}).stdout
    assert " auth " in query_help and " account " not in query_help  # the alias is hidden
