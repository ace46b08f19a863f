"""The options many commands share, each declared once, and the sets commands take them in.

A set is a dataclass (`TxOptions`, `StateQueryOptions`, ...) whose fields name shared options; a
command takes a whole set and receives its values as one instance, while `command()` puts the
options themselves into the signature Typer reads. So every tx command has the same --fee, --gas,
... with the same meaning, and a new one cannot drift (tests/cli/test_declared_commands.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from typer.models import ArgumentInfo, ParameterInfo

from voxpop.cli.keyring import BACKEND_ENV, PASSPHRASE_ENV, KeyringBackendChoice
from voxpop.cli.output import OutputFormat, OutputOption
from voxpop.client import DEFAULT_SEND_GAS, DEFAULT_URL

NODE_ENV = "VOXPOP_NODE"


class BroadcastModeChoice(StrEnum):
    SYNC = "sync"
    COMMIT = "commit"


@dataclass(frozen=True, slots=True)
class Shared:
    """One shared CLI parameter: the Python name a command receives it by, its type, and the
    Typer declaration (flags, default, help)."""

    name: str
    annotation: Any
    info: ParameterInfo

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(
            self.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=self.info,
            annotation=self.annotation,
        )


FROM_KEY = Shared(
    "from_key", str, typer.Argument(..., metavar="FROM", help="name of the signing key")
)
FEE = Shared(
    "fee",
    str | None,
    typer.Option(
        "auto",
        "--fee",
        help="fee (e.g. 250uvox), or auto: estimated from the chain's base gas price for --gas "
        "(the minimum while the chain is not congested)",
    ),
)
GAS = Shared("gas", int, typer.Option(DEFAULT_SEND_GAS, "--gas", min=1, help="gas limit"))
MEMO = Shared("memo", str, typer.Option("", "--memo", help="a note stored with the tx"))
FEE_GRANTER = Shared(
    "fee_granter",
    str | None,
    typer.Option(
        None,
        "--fee-granter",
        help="an account whose fee allowance for FROM pays the fee (vox1 address or key name)",
    ),
)
MODE = Shared(
    "mode",
    BroadcastModeChoice,
    typer.Option(
        BroadcastModeChoice.COMMIT,
        "--mode",
        case_sensitive=False,
        help="sync: return after the mempool check; commit: after the block",
    ),
)
NODE = Shared(
    "node", str, typer.Option(DEFAULT_URL, "--node", envvar=NODE_ENV, help="the node's API URL")
)
HOME = Shared(
    "home",
    Path | None,
    typer.Option(None, "--home", help="node home directory (default: $VOXPOP_HOME or ~/.voxpop)"),
)
KEYRING_BACKEND = Shared(
    "keyring_backend",
    KeyringBackendChoice,
    typer.Option(
        KeyringBackendChoice.FILE,
        "--keyring-backend",
        envvar=BACKEND_ENV,
        case_sensitive=False,
        help="file: encrypted with a passphrase; test: UNENCRYPTED, for development and CI only",
    ),
)
PASSPHRASE_FILE = Shared(
    "passphrase_file",
    Path | None,
    typer.Option(
        None,
        "--passphrase-file",
        help="read the keyring passphrase from the first line of this file "
        f"(else ${PASSPHRASE_ENV})",
        dir_okay=False,
    ),
)
OUTPUT = Shared("output", OutputFormat, OutputOption)
PROVE = Shared(
    "prove", bool, typer.Option(False, "--prove", help="verify the answer with Merkle proofs")
)
HEIGHT = Shared(
    "height",
    int | None,
    typer.Option(None, "--height", min=1, help="at this block (default: latest)"),
)
TRUST = Shared(
    "trust",
    list[str] | None,
    typer.Option(
        None,
        "--trust-validator",
        help="hex Ed25519 validator key to trust (repeatable; default: the genesis of --home)",
    ),
)
TRUST_HEIGHT = Shared(
    "trust_height",
    int | None,
    typer.Option(
        None,
        "--trust-height",
        min=1,
        help="under CometBFT: root the light client at this height (with --trust-hash; "
        "default: the genesis validators of --home)",
    ),
)
TRUST_HASH = Shared(
    "trust_hash",
    str | None,
    typer.Option(
        None, "--trust-hash", help="the hex block hash at --trust-height, got out of band"
    ),
)


# --- the sets, each received as one dataclass ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class TxOptions:
    """What every `voxpop tx` command takes besides its own arguments."""

    from_key: str
    fee: str | None
    gas: int
    memo: str
    fee_granter: str | None
    mode: BroadcastModeChoice
    node: str
    home: Path | None
    keyring_backend: KeyringBackendChoice
    passphrase_file: Path | None
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class StateQueryOptions:
    """What every `voxpop query` of chain state takes: a height, proofs and whom to trust, and
    the keyring, so that an address may be given as a key's name."""

    prove: bool
    height: int | None
    node: str
    trust: list[str] | None
    trust_height: int | None
    trust_hash: str | None
    home: Path | None
    keyring_backend: KeyringBackendChoice
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class RecordQueryOptions:
    """What every `voxpop query` of the node's records (blocks, txs, status) takes."""

    node: str
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class KeyringOptions:
    """What every `voxpop keys` command takes."""

    home: Path | None
    keyring_backend: KeyringBackendChoice
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class UnlockOptions:
    """What a `voxpop keys` command that needs the passphrase takes."""

    home: Path | None
    keyring_backend: KeyringBackendChoice
    passphrase_file: Path | None
    output: OutputFormat


SHARED = {
    s.name: s
    for s in (
        FROM_KEY,
        FEE,
        GAS,
        MEMO,
        FEE_GRANTER,
        MODE,
        NODE,
        HOME,
        KEYRING_BACKEND,
        PASSPHRASE_FILE,
        OUTPUT,
        PROVE,
        HEIGHT,
        TRUST,
        TRUST_HEIGHT,
        TRUST_HASH,
    )
}


def shared_of(cls: type[Any]) -> tuple[Shared, ...]:
    """The shared parameters a set's dataclass is made of, in its field order."""
    return tuple(SHARED[f.name] for f in fields(cls))


def command(
    own: Sequence[inspect.Parameter],
    options: type[Any],
    body: Callable[[Any, dict[str, Any]], None],
) -> Callable[..., None]:
    """A function Typer can mount: its signature is `own` followed by the set `options`. Called,
    it hands `body` the set as one `options` dataclass and the command's own values by name."""
    common = [s.parameter() for s in shared_of(options)]
    mine = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    # Arguments in order (a shared FROM first), then the command's options, then the shared ones
    ordered = [
        *(p for p in common if _is_argument(p)),
        *(p for p in mine if _is_argument(p)),
        *(p for p in mine if not _is_argument(p)),
        *(p for p in common if not _is_argument(p)),
    ]

    def run(**values: Any) -> None:
        opts = options(**{f.name: values.pop(f.name) for f in fields(options)})
        body(opts, values)

    run.__signature__ = inspect.Signature(ordered)  # type: ignore[attr-defined]
    return run


def _is_argument(p: inspect.Parameter) -> bool:
    return isinstance(p.default, ArgumentInfo)


def with_options(options: type[Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """For a hand-written command: its last parameter `opts: <options dataclass>` becomes the set's
    shared parameters on the command line."""

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[:-1]

        def body(opts: Any, values: dict[str, Any]) -> None:
            func(**values, opts=opts)

        wrapped = command(own, options, body)
        wrapped.__doc__, wrapped.__name__ = func.__doc__, func.__name__
        return wrapped

    return decorate


__all__ = [
    "BroadcastModeChoice",
    "KeyringOptions",
    "RecordQueryOptions",
    "Shared",
    "StateQueryOptions",
    "TxOptions",
    "UnlockOptions",
    "command",
    "with_options",
]
