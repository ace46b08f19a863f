"""Commands as declarations. A tx command is a message and the arguments that fill it; a query
command is a read and the arguments it takes. This layer turns each into a Typer command with its
set of shared options (cli/options.py), parses and checks the arguments before anything is
unlocked or sent, and runs the one signing path (cli/signing.py) or the one reading path.

    TxCommand(
        module="staking", verb="delegate", msg=MsgDelegate,
        help="Bond AMOUNT from FROM's balance to VALIDATOR.",
        args=(Arg("validator", "the validator's operator"), Arg("amount", "e.g. 1.5vox")),
    )

is `voxpop tx staking delegate FROM VALIDATOR AMOUNT [--fee ...]`: FROM fills the message's
signer, each argument the message field of its name, parsed as that field's kind asks (an address
may be a key's name, an amount may be in vox). Its JSON result carries the message as the API
shows it, its text table the same fields for people.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import typer

from voxpop.chain import fields
from voxpop.chain.module import Msg, msg_fields
from voxpop.cli.connect import client_errors, light_client, trusted_keys
from voxpop.cli.keyring import KeyringBackendChoice, resolve_address
from voxpop.cli.naming import CHAIN_RECORDS_PANEL, MODULES_PANEL
from voxpop.cli.options import (
    RecordQueryOptions,
    StateQueryOptions,
    TxOptions,
    command,
)
from voxpop.cli.output import OutputFormat, emit, format_uvox, kv_table
from voxpop.cli.signing import (
    Signer,
    broadcast_msgs,
    build_msg,
    load_signer,
    parse_amount_text,
    parse_fee,
)
from voxpop.client import VoxClient

# --- argument kinds: from the command line to a field ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """What parsing an argument may need: the keyring (an address may be given as a key's name)
    and the output format its errors are reported in."""

    home: Path | None
    keyring_backend: KeyringBackendChoice
    output: OutputFormat


def _as_given(value: Any, inputs: Inputs, label: str) -> Any:
    return value


def _parse_address(text: str | None, inputs: Inputs, label: str) -> bytes | None:
    if text is None:
        return None
    return resolve_address(text, inputs.home, inputs.keyring_backend, inputs.output)


def _parse_amount(text: str | None, inputs: Inputs, label: str) -> int | None:
    return None if text is None else parse_amount_text(text, label, inputs.output)


@dataclass(frozen=True, slots=True)
class Kind:
    """How a command-line value becomes a field: what Typer reads the text as, then `parse`, which
    fails with a stable code (and gets None for an option left out without a default)."""

    annotation: Any
    parse: Callable[[Any, Inputs, str], Any] = _as_given


ADDRESS = Kind(str, _parse_address)
"""A vox1 address, or the name of a key in the keyring; the field is its 20 bytes."""

AMOUNT = Kind(str, _parse_amount)
"""`1.5vox`, `1500000uvox` or a bare integer of uvox; the field is an int of uvox."""

TEXT = Kind(str)
INTEGER = Kind(int)

AMOUNT_HELP = "e.g. 1.5vox, 1500000uvox, or 1500000 (uvox)"


def kind_for(field: fields.Kind) -> Kind:
    """How the command line gives a message field of this kind (the chain checks the rest)."""
    if isinstance(field, fields.AddressKind):
        return ADDRESS
    if isinstance(field, fields.AmountKind):
        return AMOUNT
    if isinstance(field, fields.UintKind):
        return INTEGER
    if isinstance(field, fields.TextKind):
        return TEXT
    raise TypeError(f"no command-line kind for {type(field).__name__}: give the Arg a kind")


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command, filling the message field (or read input) `field`.

    Positional unless `flag` is given; required unless `default` is (None: the field is None when
    the option is left out). A tx command's argument takes its kind from the message field's
    unless `kind` says otherwise."""

    field: str
    help: str = ""
    kind: Kind | None = None
    flag: str | None = None
    default: Any = ...
    metavar: str | None = None

    @property
    def label(self) -> str:
        """How errors name the argument: AMOUNT, --self-bond."""
        return self.flag or self.metavar or self.field.upper()

    def parameter(self) -> inspect.Parameter:
        assert self.kind is not None, f"{self.field}: no kind"
        annotation = self.kind.annotation
        info = (
            typer.Option(self.default, self.flag, help=self.help)
            if self.flag
            else typer.Argument(self.default, metavar=self.label, help=self.help)
        )
        return inspect.Parameter(
            self.field,
            inspect.Parameter.KEYWORD_ONLY,
            default=info,
            annotation=annotation if self.default is not None else annotation | None,
        )

    def parse(self, value: Any, inputs: Inputs) -> Any:
        assert self.kind is not None, f"{self.field}: no kind"
        return self.kind.parse(value, inputs, self.label)


def parse_args(args: Iterable[Arg], values: Mapping[str, Any], inputs: Inputs) -> dict[str, Any]:
    """Every argument parsed, in declaration order: the first bad one fails with its code."""
    return {a.field: a.parse(values[a.field], inputs) for a in args}


# --- tx commands ----------------------------------------------------------------------------------


Complete = Callable[[TxOptions, dict[str, Any]], dict[str, Any]]
Derive = Callable[[Signer, TxOptions, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TxCommand:
    """`voxpop tx MODULE VERB FROM ARGS...`: sign one `msg` with the key FROM.

    The message's fields (by their keys in the tx) are its signer's, filled with FROM's address,
    and one per argument; `complete`, when given, fills in what is still None once the key is
    unlocked (e.g. from the chain), and `derive` what comes from the unlocked key itself (e.g.
    keys derived from it). The chain's own stateless validation checks the message before
    anything is signed; the result shows it as the API does (`Msg.to_json`)."""

    module: str
    verb: str
    msg: type[Msg]
    help: str
    args: tuple[Arg, ...] = ()
    complete: Complete | None = None
    derive: Derive | None = None

    @property
    def signer(self) -> str:
        """The key in the tx of the field that holds the acting account."""
        return next(f.key for f in msg_fields(self.msg) if f.attr == self.msg.SIGNER)

    def resolved_args(self) -> tuple[Arg, ...]:
        """The arguments, each with a kind (from the message field's where not given)."""
        by_key = {f.key: f.kind for f in msg_fields(self.msg)}
        return tuple(a if a.kind else replace(a, kind=kind_for(by_key[a.field])) for a in self.args)

    def function(self) -> Callable[..., None]:
        args = self.resolved_args()
        own = [a.parameter() for a in args]
        return command(own, TxOptions, functools.partial(self.run, args))

    def run(self, args: tuple[Arg, ...], opts: TxOptions, values: dict[str, Any]) -> None:
        fmt = opts.output
        # Verify every argument before asking for a passphrase or touching the network
        fee = parse_fee(opts.fee, fmt)
        given = parse_args(args, values, Inputs(opts.home, opts.keyring_backend, fmt))
        signer = load_signer(opts)
        value = {self.signer: signer.raw_address, **given}
        if self.complete is not None:
            value = self.complete(opts, value)
        if self.derive is not None:
            value = self.derive(signer, opts, value)
        msg = build_msg(self.msg, value, fmt)
        shown = msg.to_json()["value"]
        amounts = {f.key for f in msg_fields(self.msg) if isinstance(f.kind, fields.AmountKind)}
        rows = {
            k.replace("_", " "): format_uvox(v) if k in amounts else _text(v)
            for k, v in shown.items()
        }
        broadcast_msgs(
            signer,
            [msg],
            opts,
            fee=fee,
            extra={"type": msg.TYPE, **shown},
            rows={"type": msg.TYPE, **rows},
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- query commands -------------------------------------------------------------------------------


Read = Callable[[VoxClient, Any, dict[str, Any]], dict[str, Any]]
Render = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class QueryCommand:
    """`voxpop query MODULE WHAT ARGS...`: `read` the answer through a connected client.

    A module's state takes the state options (--height, --prove, --trust-validator, and the
    keyring for key names); a record of the chain itself (block, tx, status: `module` None) takes
    only --node and --output. `read` gets the client, those options and the parsed arguments, and
    returns the JSON answer; text shows it as a table (`amounts` in uvox and vox) unless `render`
    says otherwise. `aliases` are older names kept directly under `voxpop query`, hidden."""

    module: str | None
    what: str
    help: str
    read: Read
    args: tuple[Arg, ...] = ()
    render: Render | None = None
    amounts: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def function(self) -> Callable[..., None]:
        options = StateQueryOptions if self.module is not None else RecordQueryOptions
        return command([a.parameter() for a in self.args], options, self.run)

    def run(self, opts: StateQueryOptions | RecordQueryOptions, values: dict[str, Any]) -> None:
        fmt = opts.output
        keys, light = None, None
        if isinstance(opts, StateQueryOptions):
            inputs = Inputs(opts.home, opts.keyring_backend, fmt)
            if opts.prove:
                keys = trusted_keys(opts.trust, opts.home, fmt)
                light = light_client(opts.trust_height, opts.trust_hash, opts.home, fmt)
        else:
            inputs = Inputs(None, KeyringBackendChoice.FILE, fmt)
        # Verify every argument before asking the node
        given = parse_args(self.args, values, inputs)
        client = VoxClient(opts.node, trusted_validator_keys=keys, light=light)
        with client_errors(fmt), client:
            data = self.read(client, opts, given)
        emit(data, fmt, self.render or self.render_fields)

    def render_fields(self, data: dict[str, Any]) -> None:
        rows: dict[str, Any] = {
            k: format_uvox(v) if k in self.amounts else "(none)" if v is None else v
            for k, v in data.items()
            if k != "verified"
        }
        if data.get("verified"):
            rows["proof"] = "verified against the signed block header"
        kv_table(rows)


# --- mounting -------------------------------------------------------------------------------------


def mount(
    app: typer.Typer,
    commands: Iterable[TxCommand | QueryCommand],
    modules: Mapping[str, str],
) -> None:
    """Add each command under `app`, as `MODULE NAME` (one group per module, its help from
    `modules`) or, for a chain record, as `NAME`; aliases hidden."""
    groups: dict[str, typer.Typer] = {}
    for cmd in commands:
        name = cmd.verb if isinstance(cmd, TxCommand) else cmd.what
        function = cmd.function()
        if cmd.module is None:
            app.command(name, help=cmd.help, rich_help_panel=CHAIN_RECORDS_PANEL)(function)
        else:
            if cmd.module not in groups:
                groups[cmd.module] = typer.Typer(no_args_is_help=True, help=modules[cmd.module])
                app.add_typer(groups[cmd.module], name=cmd.module, rich_help_panel=MODULES_PANEL)
            groups[cmd.module].command(name, help=cmd.help)(function)
        for alias in getattr(cmd, "aliases", ()):
            app.command(alias, help=cmd.help, hidden=True)(function)
