"""`voxpop data policy show|set|run`, `voxpop data label|grant|revoke|grants|sales|audit`: the
owner's side of consent and the data market (issue 14). The policy, the labels and the decision
log stay in --home; only grants (opaque object ids, capsule and content hashes) go on chain.

    voxpop data policy set kinds=utterance purposes=asr-training min_price=20 \\
        never=location,email max_objects_per_period=500 auto=true
    voxpop data label kitchen.wav --kind utterance --language en --seconds 3
    voxpop data policy run            # the market loop: accept matching offers, grant, settle
    voxpop data grants | sales | audit GRANT

See docs/operations/consent.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.data import ObjectArgument, resolve, vault_session
from voxpop.cli.options import KeyringOptions, with_options
from voxpop.cli.output import emit, fail, rows_table
from voxpop.cli.owner import KeyOption, OwnerReadOptions
from voxpop.client.consent import (
    ConsentClientError,
    DecisionLog,
    label_object,
    load_policy,
    save_policy,
    set_fields,
)
from voxpop.node.home import default_home

consent_app = typer.Typer(no_args_is_help=True)
policy_app = typer.Typer(
    no_args_is_help=True,
    help="What your agent may share or sell, to whom, for what, at what price, how much.",
)
consent_app.add_typer(policy_app, name="policy")


def _home(home: Path | None) -> Path:
    return home if home is not None else default_home()


@policy_app.command("show")
@with_options(KeyringOptions)
def policy_show(*, opts: KeyringOptions) -> None:
    """The sharing policy in --home (none: nothing is shared)."""
    try:
        policy = load_policy(_home(opts.home))
    except ConsentClientError as exc:
        fail(exc.code, exc.message, opts.output)
    emit(policy.to_doc(), opts.output)


@policy_app.command("set")
@with_options(KeyringOptions)
def policy_set(
    changes: list[str] = typer.Argument(
        ..., metavar="FIELD=VALUE...", help="e.g. min_price=20 kinds=utterance never=location,email"
    ),
    *,
    opts: KeyringOptions,
) -> None:
    """Change fields of the policy (lists comma-separated; empty value: the empty list)."""
    pairs: dict[str, str] = {}
    for change in changes:
        name, sep, value = change.partition("=")
        # Verify each change is FIELD=VALUE
        if not sep or not name:
            fail("policy_invalid", f"{change!r} is not FIELD=VALUE", opts.output)
        pairs[name.strip()] = value.strip()
    home = _home(opts.home)
    try:
        policy = set_fields(load_policy(home), pairs)
        save_policy(home, policy)
    except ConsentClientError as exc:
        fail(exc.code, exc.message, opts.output)
    emit(policy.to_doc(), opts.output)


@consent_app.command("label")
@with_options(OwnerReadOptions)
def label(
    ref: str = ObjectArgument,
    kind: str = typer.Option(..., "--kind", help="what the object is: utterance, ..."),
    language: str = typer.Option("", "--language", help="its language (BCP 47), if any"),
    seconds: int = typer.Option(0, "--seconds", min=0, help="its length in seconds"),
    tag: list[str] = typer.Option([], "--tag", help="what it contains: location, email, ..."),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Label an object for your sharing policy (kept only in your sealed index). Fetches and
    decrypts it once, to commit to its plaintext with a fresh salt."""
    with vault_session(key, opts) as vault:
        object_id = resolve(vault, ref, opts.output)
        plaintext = vault.get(object_id)
        try:
            entry = label_object(
                vault.index,
                object_id,
                plaintext,
                kind=kind,
                language=language,
                seconds=seconds,
                tags=tuple(tag),
            )
        except ConsentClientError as exc:
            fail(exc.code, exc.message, opts.output)
    emit(
        {
            "id": entry.object_id,
            "kind": entry.kind,
            "language": entry.language,
            "seconds": entry.seconds,
            "tags": list(entry.tags),
        },
        opts.output,
    )


def _log_rows(home: Path, event: str) -> list[dict[str, Any]]:
    return list(DecisionLog(home).records(event))


@consent_app.command("decisions")
@with_options(KeyringOptions)
def decisions(
    last: int = typer.Option(50, "--last", min=1, help="how many, newest last"),
    *,
    opts: KeyringOptions,
) -> None:
    """Your agent's log of sharing decisions, and why each was taken."""
    rows = list(DecisionLog(_home(opts.home)).records())[-last:]

    def render(_: Any) -> None:
        shown = [
            {
                "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["time"])),
                "event": r["event"],
                "offer": str(r.get("offer", ""))[:16],
                "objects": len(r.get("objects", [])),
                "why": "; ".join(r.get("reasons", [])) or r.get("error", ""),
            }
            for r in rows
        ]
        rows_table(shown, ("time", "event", "offer", "objects", "why"), title="decisions")

    emit({"decisions": rows}, opts.output, render)

