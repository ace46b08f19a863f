"""Commands as declarations. A tx command is a message and the arguments that fill it; a query
command is a read and the arguments it takes. This layer turns each into a Typer command with its
set of shared options (cli/options.py), parses and checks the arguments before anything is
unlocked or sent, and runs the one signing path (cli/signing.py) or the one reading path.

    TxCommand(
        module="staking", verb="delegate", msg=MsgDelegate, signer="delegator",
        help="Bond AMOUNT from FROM's balance to VALIDATOR.",
        args=(Arg("validator", ADDRESS), Arg("amount", AMOUNT)),
    )

is `voxpop tx staking delegate FROM VALIDATOR AMOUNT [--fee ...]`: its JSON result carries the
message's type and fields, its text table the same fields for people.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.module import Msg
from voxpop.cli.connect import client_errors, trusted_keys
from voxpop.cli.keyring import KeyringBackendChoice, resolve_address
from voxpop.cli.naming import CHAIN_RECORDS_PANEL, MODULES_PANEL
from voxpop.cli.options import (
    GAS,
    RecordQueryOptions,
    StateQueryOptions,
    TxOptions,
    command,
)
from voxpop.cli.output import OutputFormat, emit, format_uvox, kv_table, to_jsonable
from voxpop.cli.signing import broadcast_msgs, build_msg, load_signer, parse_amount_text, parse_fee
from voxpop.client import DEFAULT_SEND_GAS, VoxClient
from voxpop.crypto import encode_address

# --- argument kinds: from the command line to a field, and back for people -----------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """What parsing an argument may need: the keyring (an address may be given as a key's name)
    and the output format its errors are reported in."""

    home: Path | None
    keyring_backend: KeyringBackendChoice
    output: OutputFormat


def _same(value: Any) -> Any:
    return value


def _as_given(value: Any, inputs: Inputs, label: str) -> Any:
    return value


def _unless_none(parse: Callable[[Any, Inputs, str], Any]) -> Callable[[Any, Inputs, str], Any]:
    return lambda value, inputs, label: None if value is None else parse(value, inputs, label)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(to_jsonable(value))


@dataclass(frozen=True, slots=True)
class Kind:
    """How a command-line value becomes a field (`parse`, which fails with a stable code; it gets
    None for an option left out without a default), and how the field is shown in JSON and in
    the text table."""

    annotation: Any  # what Typer parses the text as
    parse: Callable[[Any, Inputs, str], Any] = _as_given
    to_json: Callable[[Any], Any] = to_jsonable
    to_text: Callable[[Any], str] = _text


ADDRESS = Kind(
    str,
    parse=_unless_none(
        lambda text, i, _: resolve_address(text, i.home, i.keyring_backend, i.output)
    ),
    to_json=encode_address,
    to_text=encode_address,
)
"""A vox1 address, or the name of a key in the keyring; the field is its 20 bytes."""

AMOUNT = Kind(
    str,
    parse=_unless_none(lambda text, i, label: parse_amount_text(text, label, i.output)),
    to_json=_same,
    to_text=format_uvox,
)
"""`1.5vox`, `1500000uvox` or a bare integer of uvox; the field is an int of uvox."""

TEXT = Kind(str)
INTEGER = Kind(int)

AMOUNT_HELP = "e.g. 1.5vox, 1500000uvox, or 1500000 (uvox)"


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command, filling the message field (or read input) `field`.

    Positional unless `flag` is given; required unless `default` is (None: the field is None when
    the option is left out)."""

    field: str
    kind: Kind
    help: str = ""
    flag: str | None = None
    default: Any = ...
    metavar: str | None = None
    min: int | None = None

    @property
    def label(self) -> str:
        """How errors name the argument: AMOUNT, --self-bond."""
        return self.flag or self.metavar or self.field.upper()

    def parameter(self) -> inspect.Parameter:
        annotation = (
            self.kind.annotation if self.default is not None else self.kind.annotation | None
        )
        info = (
            typer.Option(self.default, self.flag, help=self.help, min=self.min)
            if self.flag
            else typer.Argument(self.default, metavar=self.label, help=self.help)
        )
        return inspect.Parameter(
            self.field, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation
        )

    def parse(self, value: Any, inputs: Inputs) -> Any:
        return self.kind.parse(value, inputs, self.label)


def parse_args(args: Iterable[Arg], values: Mapping[str, Any], inputs: Inputs) -> dict[str, Any]:
    """Every argument parsed, in declaration order: the first bad one fails with its code."""
    return {a.field: a.parse(values[a.field], inputs) for a in args}


# --- tx commands ----------------------------------------------------------------------------------


Complete = Callable[[TxOptions, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TxCommand:
    """`voxpop tx MODULE VERB FROM ARGS...`: sign one `msg` with the key FROM.

    The message's fields are the signer's address (in the field `signer`) and the arguments;
    `complete`, when given, fills in the rest once the key is unlocked (e.g. from the chain)."""

    module: str
    verb: str
    msg: type[Msg]
    signer: str
    help: str
    args: tuple[Arg, ...] = ()
    complete: Complete | None = None
    gas: int = DEFAULT_SEND_GAS

    def function(self) -> Callable[..., None]:
        gas = () if self.gas == DEFAULT_SEND_GAS else (GAS.with_default(self.gas),)
        own = [a.parameter() for a in self.args]
        return command(own, TxOptions, self.run, shared=gas)

    def run(self, opts: TxOptions, values: dict[str, Any]) -> None:
        fmt = opts.output
        # Verify every argument before asking for a passphrase or touching the network
        fee = parse_fee(opts.fee, fmt)
        given = parse_args(self.args, values, Inputs(opts.home, opts.keyring_backend, fmt))
        signer = load_signer(opts)
        fields = {self.signer: signer.raw_address, **given}
        if self.complete is not None:
            fields = self.complete(opts, fields)
        msg = build_msg(self.msg, fields, fmt)
        kinds = {self.signer: ADDRESS, **{a.field: a.kind for a in self.args}}
        shown = [(name, kinds.get(name, TEXT), value) for name, value in fields.items()]
        broadcast_msgs(
            signer,
            [msg],
            opts,
            fee=fee,
            extra={"type": msg.TYPE, **{n: k.to_json(v) for n, k, v in shown}},
            rows={"type": msg.TYPE, **{n.replace("_", " "): k.to_text(v) for n, k, v in shown}},
        )


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
        keys = None
        if isinstance(opts, StateQueryOptions):
            inputs = Inputs(opts.home, opts.keyring_backend, fmt)
            keys = trusted_keys(opts.trust, opts.home, fmt) if opts.prove else None
        else:
            inputs = Inputs(None, KeyringBackendChoice.FILE, fmt)
        # Verify every argument before asking the node
        given = parse_args(self.args, values, inputs)
        with client_errors(fmt), VoxClient(opts.node, trusted_validator_keys=keys) as client:
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
