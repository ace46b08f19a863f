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
from voxpop.cli.keyring import resolve_address
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
from voxpop.client.consent.chainview import accesses_of, fetch_grant, grants_of_owner
from voxpop.client.consent.grants import GrantTerms, create_grant, revoke_grant
from voxpop.client.consent.market import MarketAgent
from voxpop.client.consent.marketview import fetch_sale
from voxpop.crypto.address import encode_address
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


def parse_grant_id(text: str, fmt: Any) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    # Verify a grant id: 32 bytes in hex
    if len(raw) != 32:
        fail("invalid_grant_id", f"{text!r} is not a grant id (64 hex digits)", fmt)
    return raw


@consent_app.command("grant")
@with_options(OwnerReadOptions)
def grant(
    grantee: str = typer.Argument(..., help="who may read: vox1 address or key name"),
    refs: list[str] = typer.Argument(..., metavar="ID...", help="the objects (ids or names)"),
    purpose: str = typer.Option(..., "--purpose", help="one of the chain's purposes"),
    days: int = typer.Option(30, "--days", min=1, help="the grant expires after this many days"),
    max_accesses: int = typer.Option(0, "--max-accesses", min=0, help="default: 2 per object"),
    threshold: int = typer.Option(2, "--threshold", min=1, help="m: nodes an access needs"),
    shares: int = typer.Option(3, "--nodes", min=1, help="n: privacy nodes holding fragments"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Give GRANTEE access to labelled objects for a purpose, until an expiry, through n
    privacy nodes of which m re-encrypt each access. Revocable at once (`data revoke`)."""
    who = resolve_address(grantee, opts.home, opts.keyring_backend, opts.output)
    with vault_session(key, opts) as vault:
        object_ids = tuple(resolve(vault, r, opts.output) for r in refs)
        terms = GrantTerms(
            grantee=who,
            purpose=purpose,
            expiry=int(time.time()) + days * 86_400,
            max_accesses=max_accesses or 2 * len(object_ids),
            object_ids=object_ids,
            threshold=threshold,
            shares=shares,
        )
        try:
            result = create_grant(vault, terms)
        except ConsentClientError as exc:
            fail(exc.code, exc.message, opts.output)
    DecisionLog(_home(opts.home)).append(
        "grant",
        int(time.time()),
        grant=result.grant_id.hex(),
        grantee=encode_address(who),
        offer="",
        objects=[o.hex() for o in object_ids],
        reasons=["granted by hand (voxpop data grant)"],
    )
    emit(
        {
            "grant": result.grant_id.hex(),
            "tx_hash": result.tx_hash,
            "height": result.height,
            "nodes": [encode_address(n) for n in result.nodes],
            "undelivered": result.failed,
        },
        opts.output,
    )


@consent_app.command("revoke")
@with_options(OwnerReadOptions)
def revoke(
    grant_id: str = typer.Argument(..., metavar="GRANT", help="the grant id (64 hex digits)"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """End a grant at once: from the next block its nodes refuse it and delete their fragments."""
    raw = parse_grant_id(grant_id, opts.output)
    with vault_session(key, opts) as vault:
        try:
            tx = revoke_grant(vault, raw)
        except ConsentClientError as exc:
            fail(exc.code, exc.message, opts.output)
    DecisionLog(_home(opts.home)).append("revoke", int(time.time()), grant=grant_id.lower())
    emit({"grant": grant_id.lower(), "revoked": True, "tx_hash": tx}, opts.output)


def grant_row(grant_id: bytes, g: Any) -> dict[str, Any]:
    state = "revoked" if g.revoked_at else "expired" if g.expired_at else "live"
    return {
        "grant": grant_id.hex(),
        "grantee": encode_address(g.grantee),
        "purpose": g.purpose,
        "objects": g.object_count,
        "accesses": f"{g.accesses}/{g.max_accesses}",
        "expiry": time.strftime("%Y-%m-%d %H:%M", time.gmtime(g.expiry)),
        "state": state,
        "offer": g.offer_id.hex(),
    }


@consent_app.command("grants")
@with_options(OwnerReadOptions)
def grants(key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """Your grants (proven complete from the chain): grantee, purpose, accesses, state."""
    with vault_session(key, opts) as vault:
        rows = [grant_row(gid, g) for gid, g in grants_of_owner(vault.vox, vault.owner)]

    def render(_: Any) -> None:
        rows_table(
            rows,
            ("grant", "grantee", "purpose", "objects", "accesses", "expiry", "state"),
            title="grants",
        )

    emit({"grants": rows}, opts.output, render)


@consent_app.command("audit")
@with_options(OwnerReadOptions)
def audit(
    grant_id: str | None = typer.Argument(
        None, metavar="[GRANT]", help="one grant (default: every grant of yours)"
    ),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Every access to your objects as the privacy nodes recorded it on chain (proven): which
    grant, which object, when, which nodes answered, whether it counted (m answers)."""
    rows: list[dict[str, Any]] = []
    with vault_session(key, opts) as vault:
        if grant_id is not None:
            raw = parse_grant_id(grant_id, opts.output)
            found = fetch_grant(vault.vox, raw)
            # Verify the grant is this owner's (the audit trail is the owner's)
            if found is None or found.owner != vault.owner:
                fail("grant_not_found", f"no grant {grant_id} of yours", opts.output)
            chosen = [(raw, found)]
        else:
            chosen = grants_of_owner(vault.vox, vault.owner)
        for gid, g in chosen:
            for rid, acc in accesses_of(vault.vox, gid):
                entry = vault.index.get(acc.object.hex())
                rows.append(
                    {
                        "grant": gid.hex(),
                        "grantee": encode_address(g.grantee),
                        "request": rid.hex(),
                        "object": acc.object.hex(),
                        "name": entry.name if entry is not None else "",
                        "time": acc.time,
                        "height": acc.height,
                        "nodes": [encode_address(n) for n in acc.nodes],
                        "counted": acc.counted_at > 0,
                    }
                )

    def render(_: Any) -> None:
        rows_table(
            [{**r, "nodes": len(r["nodes"]), "request": r["request"][:16]} for r in rows],
            ("grant", "request", "name", "time", "height", "nodes", "counted"),
            title="accesses",
        )

    emit({"accesses": rows}, opts.output, render)


@policy_app.command("run")
@with_options(OwnerReadOptions)
def policy_run(
    once: bool = typer.Option(False, "--once", help="one pass, then exit"),
    interval: float = typer.Option(5.0, "--interval", min=0.5, help="seconds between passes"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Your agent in the data market: answer each new offer of a kind your policy shares (every
    decision logged with why), grant the matching objects, settle what buyers accessed."""
    home = _home(opts.home)
    with vault_session(key, opts) as vault:
        agent = MarketAgent(vault, home)
        if not once:
            try:
                agent.run(interval)
            except KeyboardInterrupt:
                return
        report = agent.step()
    emit(
        {
            "decided": report.decided,
            "granted": report.granted,
            "settled": report.settled,
            "errors": report.errors,
        },
        opts.output,
    )


@consent_app.command("sales")
@with_options(OwnerReadOptions)
def sales(key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """What you sold: per sale grant, the offer, its price, objects granted, accessed, settled,
    and each object's payment state on chain (held in the dispute window, paid, disputed)."""
    log = DecisionLog(_home(opts.home))
    rows: list[dict[str, Any]] = []
    with vault_session(key, opts) as vault:
        for record in log.records("grant"):
            if not record.get("offer"):
                continue
            offer_id = bytes.fromhex(record["offer"])
            states: dict[str, int] = {}
            for o in record["objects"]:
                sale = fetch_sale(vault.vox, offer_id, bytes.fromhex(o))
                status = sale.status if sale is not None else "unsettled"
                states[status] = states.get(status, 0) + 1
            price = int(record.get("price", 0))
            rows.append(
                {
                    "offer": record["offer"],
                    "grant": record["grant"],
                    "buyer": record.get("grantee", ""),
                    "price": price,
                    "objects": len(record["objects"]),
                    "paid": states.get("paid", 0),
                    "held": states.get("held", 0),
                    "disputed": states.get("disputed", 0),
                    "earned": price * states.get("paid", 0),
                }
            )

    def render(_: Any) -> None:
        cols = ("offer", "buyer", "price", "objects", "held", "paid", "disputed", "earned")
        rows_table([{**r, "offer": r["offer"][:16]} for r in rows], cols, title="sales")

    emit({"sales": rows}, opts.output, render)
