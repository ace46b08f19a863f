"""`voxpop tx authz grant|revoke|exec` and `voxpop query authz grants`: letting another key act
for an account without its key (the chain's authz module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxpop.chain import fields
from voxpop.chain.module import msg_fields
from voxpop.chain.modules.authz.messages import MsgExec, MsgGrant, MsgRevoke
from voxpop.chain.modules.authz.state import decode_grant
from voxpop.chain.registry import default_modules
from voxpop.cli.declare import ADDRESS, INTEGER, TEXT, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail, format_uvox, kv_table, rows_table
from voxpop.cli.signing import parse_amount_text
from voxpop.client import VoxClient
from voxpop.crypto import AddressError, decode_address, encode_address

ROUTES = {t: r for m in default_modules() for t, r in m.msg_routes().items()}


def _parse_limit(text: str | None, inputs: Inputs, label: str) -> int:
    return 0 if text is None else parse_amount_text(text, label, inputs.output, allow_zero=True)


LIMIT = Kind(str, _parse_limit)
"""An optional amount (`1.5vox`, `1500000uvox` or uvox); left out: 0, no limit."""


def _parse_types(values: list[str] | None, inputs: Inputs, label: str) -> list[str]:
    return list(values or [])


TYPES = Kind(list[str], _parse_types)


def wire_of_json(kind: fields.Kind, value: Any, name: str) -> Any:
    """A field's wire value from the JSON the API shows (`Msg.to_json`): addresses in bech32,
    bytes in hex. Raises ValueError naming the field."""
    if isinstance(kind, fields.AddressKind):
        try:
            return decode_address(value)
        except (AddressError, TypeError) as exc:
            raise ValueError(f"{name} must be a vox1 address") from exc
    if isinstance(kind, fields.BytesKind | fields.X25519KeyKind | fields.Secp256k1KeyKind):
        try:
            return bytes.fromhex(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} must be hex") from exc
    if isinstance(kind, fields.ListKind) and isinstance(value, list):
        return [wire_of_json(kind.item, v, name) for v in value]
    if isinstance(kind, fields.TupleKind) and isinstance(value, list):
        return [wire_of_json(k, v, name) for k, v in zip(kind.items, value, strict=False)]
    return value


def msg_of_json(doc: Any, where: str) -> dict[str, Any]:
    """One `{"type", "value"}` message in the API's JSON shape, as the tx carries it."""
    if not isinstance(doc, dict) or set(doc) != {"type", "value"} or doc["type"] not in ROUTES:
        raise ValueError(f"{where} must be {{type, value}} of a message type this chain knows")
    value = doc["value"]
    if not isinstance(value, dict):
        raise ValueError(f"{where}.value must be an object")
    known = {f.key: f.kind for f in msg_fields(ROUTES[doc["type"]].msg_cls)}
    wire = {
        k: wire_of_json(known[k], v, f"{where}.{k}") if k in known else v for k, v in value.items()
    }
    return {"type": doc["type"], "value": wire}


def _parse_msgs_file(path: str | None, inputs: Inputs, label: str) -> list[dict[str, Any]]:
    """The messages to run: a JSON file of `[{"type", "value"}, ...]` as the API shows messages
    (`-` reads standard input)."""
    try:
        text = Path("/dev/stdin" if path == "-" else str(path)).read_text()
        docs = json.loads(text)
        if not isinstance(docs, list):
            raise ValueError(f"{label} must hold a JSON list of messages")
        return [msg_of_json(d, f"{label}[{i}]") for i, d in enumerate(docs)]
    except OSError as exc:
        fail("invalid_message", f"{label}: cannot read {path}: {exc.strerror}", inputs.output)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        fail("invalid_message", f"{label}: {exc}", inputs.output)


MSGS_FILE = Kind(str, _parse_msgs_file)

GRANTEE = Arg("grantee", "who may act: vox1 address or key name", ADDRESS)
MSG_TYPE = Arg("msg_type", "the message type, e.g. bank/Send", TEXT)
EXPIRATION = Arg(
    "expiration", "block time (unix seconds) it ends; 0: never", INTEGER, "--expiration", 0
)
SPEND_LIMIT_HELP = "in all, e.g. 10vox (default: no limit)"
PERIOD_SECONDS = Arg(
    "period_seconds", "length of a period, seconds (with --period-limit)", INTEGER, "--period", 0
)

TX_COMMANDS = (
    TxCommand(
        module="authz",
        verb="grant",
        msg=MsgGrant,
        help="Let GRANTEE send MSG_TYPE messages for FROM, without FROM's key.\n\n"
        "Grants of a type that spends uvox (bank/Send, channels/Open, channels/TopUp, "
        "skills/Settle) may cap it: --spend-limit in all, --period-limit per --period.",
        args=(
            GRANTEE,
            MSG_TYPE,
            Arg("spend_limit", f"uvox {SPEND_LIMIT_HELP}", LIMIT, "--spend-limit", None),
            PERIOD_SECONDS,
            Arg("period_limit", "uvox per period", LIMIT, "--period-limit", None),
            EXPIRATION,
            Arg("max_uses", "messages it authorizes; 0: no limit", INTEGER, "--max-uses", 0),
        ),
    ),
    TxCommand(
        module="authz",
        verb="revoke",
        msg=MsgRevoke,
        help="End FROM's grant of MSG_TYPE to GRANTEE, at once.",
        args=(GRANTEE, MSG_TYPE),
    ),
    TxCommand(
        module="authz",
        verb="exec",
        msg=MsgExec,
        help="Run messages for their granters as FROM (the grantee).\n\n"
        'MSGS is a JSON file (or - for stdin) of [{"type": ..., "value": ...}], each message as '
        "the API shows it, its signer field naming the granter.",
        args=(Arg("msgs", "JSON file of messages, or -", MSGS_FILE, metavar="MSGS"),),
    ),
)


def read_grants(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    """Every grant of a granter: a list query, so with --prove the list is proven whole."""
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    granter = given["address"]
    answer = client.query_list("/authz/grants", granter, prove=opts.prove)
    rows = []
    for item in answer.items:
        grant = decode_grant(item.value)
        rows.append(
            {
                "grantee": encode_address(item.id[:20]),
                "msg_type": item.id[20:].decode(),
                **grant.limits.to_value(),
                "expiration": grant.expiration,
                "uses_left": grant.uses_left,
            }
        )
    return {
        "granter": encode_address(granter),
        "grants": rows,
        "height": answer.height,
        "verified": answer.verified,
    }


def render_grants(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "grants"})
    rows_table(
        [
            {
                **g,
                "spend_limit": format_uvox(g["spend_limit"]) if g["spend_limit"] else "none",
                "period": f"{g['period_limit']} uvox / {g['period_seconds']} s"
                if g["period_seconds"]
                else "none",
                "expiration": g["expiration"] or "never",
                "uses_left": g["uses_left"] or "no limit",
            }
            for g in data["grants"]
        ],
        ["grantee", "msg_type", "spend_limit", "period", "expiration", "uses_left"],
    )


QUERY_COMMANDS = (
    QueryCommand(
        module="authz",
        what="grants",
        help="Every grant an account has given, proven complete with --prove.",
        read=read_grants,
        render=render_grants,
        args=(Arg("address", "the granter: vox1 address or key name", ADDRESS),),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS"]
