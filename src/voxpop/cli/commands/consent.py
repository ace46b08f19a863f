"""`voxpop tx consent grant|revoke|record|report-misuse` and `voxpop query consent
grant|by-owner|by-grantee|accesses|access|params`: access grants, their access records and
misuse reports (the chain's consent module). `voxpop data grant|revoke|grants|audit` build on
these with the cryptography (kits, key fragments) done for the owner."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voxpop.chain.modules.consent.messages import (
    MsgGrant,
    MsgRecord,
    MsgReportMisuse,
    MsgRevoke,
)
from voxpop.chain.modules.consent.module import access_json, grant_json
from voxpop.chain.modules.consent.state import decode_access, decode_grant, decode_params
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.commands.channels import HEX32
from voxpop.cli.declare import (
    ADDRESS,
    INTEGER,
    TEXT,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import fail, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address
from voxpop.crypto.consent import MAX_ANSWER_SIZE, MAX_REQUEST_SIZE

GRANT_ARG = Arg("grant_id", "the grant id, 64 hex digits", HEX32, metavar="GRANT_ID")


def _hex_of(size: int | None, max_size: int | None = None) -> Kind:
    """Hex of exactly `size` bytes, or of at most `max_size`."""

    def parse(text: str | None, inputs: Inputs, label: str) -> bytes | None:
        if text is None:
            return None
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            fail("invalid_message", f"{label} must be hex", inputs.output)
        # Verify the size the chain takes, before signing
        if (size is not None and len(raw) != size) or (max_size and len(raw) > max_size):
            what = f"{size} bytes" if size is not None else f"at most {max_size} bytes"
            fail("invalid_message", f"{label} must be {what} of hex", inputs.output)
        return raw

    return Kind(str, parse)


UMBRAL_KEY = _hex_of(33)
ANSWER = _hex_of(None, MAX_ANSWER_SIZE)
REQUEST = _hex_of(None, MAX_REQUEST_SIZE)


def _parse_nodes(text: str | None, inputs: Inputs, label: str) -> list[bytes]:
    """Comma-separated vox1 addresses or key names."""
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not items:
        fail("invalid_message", f"{label} names at least one node", inputs.output)
    return [ADDRESS.parse(t, inputs, label) for t in items]


def _read_json(path: str | None, inputs: Inputs, label: str) -> Any:
    try:
        return json.loads(Path("/dev/stdin" if path == "-" else str(path)).read_text())
    except OSError as exc:
        fail("invalid_message", f"{label}: cannot read {path}: {exc.strerror}", inputs.output)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        fail("invalid_message", f"{label}: {exc}", inputs.output)


def _hex_rows(doc: Any, width: int, label: str, inputs: Inputs) -> list[list[bytes]]:
    """A JSON list of `width`-item lists of hex strings, as bytes."""
    try:
        if not isinstance(doc, list):
            raise ValueError("a JSON list")
        rows = []
        for i, row in enumerate(doc):
            if not isinstance(row, list) or len(row) != width:
                raise ValueError(f"item {i} is not a list of {width} hex strings")
            rows.append([bytes.fromhex(h) for h in row])
        return rows
    except (TypeError, ValueError) as exc:
        fail("invalid_message", f"{label} must be {exc}", inputs.output)


def _parse_objects_file(path: str | None, inputs: Inputs, label: str) -> list[list[bytes]] | None:
    """`[[object_id, capsule_hash, content_hash], ...]` in hex, from a JSON file (or -)."""
    if path is None:
        return None
    return _hex_rows(_read_json(path, inputs, label), 3, label, inputs)


def _parse_records_file(path: str | None, inputs: Inputs, label: str) -> list[list[bytes]]:
    """`[[answer, request], ...]` in hex, from a JSON file (or -), as a privacy node keeps them."""
    return _hex_rows(_read_json(path, inputs, label), 2, label, inputs)


def _complete_grant(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """A fresh random grant id; listed objects or a root, whichever was given."""
    if value["grant_id"] is None:
        value["grant_id"] = secrets.token_bytes(32)
    if value["objects"] is None:
        value["objects"] = []
    if value["objects_root"] is None:
        value["objects_root"] = b""
    if value["object_count"] is None:
        value["object_count"] = len(value["objects"])
    if value["offer_id"] is None:
        value["offer_id"] = b""
    return value


TX_COMMANDS = (
    TxCommand(
        module="consent",
        verb="grant",
        msg=MsgGrant,
        help="Give GRANTEE access to objects for --purpose until --expiry (unix seconds), at most "
        "--max-accesses times, through --nodes (reencrypt providers) of which --threshold answer "
        "each access. Objects: --objects FILE ([[object_id, capsule_hash, content_hash]] hex) or "
        "--objects-root and --object-count. The kits and key fragments are the owner's to make: "
        "`voxpop data grant` does it all.",
        args=(
            Arg("grantee", "who may access: vox1 address or key name"),
            Arg("purpose", "one of the chain's purposes, e.g. asr-training", TEXT, "--purpose"),
            Arg("expiry", "unix seconds", INTEGER, "--expiry"),
            Arg("max_accesses", "accesses at most", INTEGER, "--max-accesses"),
            Arg("nodes", "privacy nodes, comma-separated", Kind(str, _parse_nodes), "--nodes"),
            Arg("threshold", "m: answers each access needs", INTEGER, "--threshold"),
            Arg("delegating_pk", "66 hex digits", UMBRAL_KEY, "--delegating-pk"),
            Arg("verifying_pk", "66 hex digits", UMBRAL_KEY, "--verifying-pk"),
            Arg(
                "objects",
                "JSON file (or -) of listed objects",
                Kind(str, _parse_objects_file),
                "--objects",
                default=None,
            ),
            Arg("objects_root", "64 hex digits", HEX32, "--objects-root", default=None),
            Arg("object_count", "objects in the set", INTEGER, "--object-count", default=None),
            Arg("offer_id", "the market offer sold to", HEX32, "--offer-id", default=None),
            Arg("grant_id", "64 hex digits (default: random)", HEX32, "--grant-id", default=None),
        ),
        complete=_complete_grant,
    ),
    TxCommand(
        module="consent",
        verb="revoke",
        msg=MsgRevoke,
        help="As the owner FROM, end GRANT_ID now: nodes refuse it from this block on.",
        args=(GRANT_ARG,),
    ),
    TxCommand(
        module="consent",
        verb="record",
        msg=MsgRecord,
        help="As the privacy node FROM, record the answers in RECORDS: a JSON file (or -) of "
        "[[answer hex, request hex]]. The access counts at its m-th node.",
        args=(
            Arg(
                "records",
                "JSON file of answers and requests, or -",
                Kind(str, _parse_records_file),
                metavar="RECORDS",
            ),
        ),
    ),
    TxCommand(
        module="consent",
        verb="report-misuse",
        msg=MsgReportMisuse,
        help="Show a node's ANSWER (hex) to REQUEST (hex) for a grant that was expired or "
        "revoked at the answer's height: the node is slashed, FROM gets the bounty.",
        args=(
            Arg("answer", "the node's signed answer, hex", ANSWER, metavar="ANSWER"),
            Arg("request", "the grantee's signed request, hex", REQUEST, metavar="REQUEST"),
        ),
    ),
)


def _read_entry(
    path: str,
    name: str,
    data_of: Callable[[dict[str, Any]], bytes],
    shown_of: Callable[[dict[str, Any], bytes], Any],
) -> Any:
    """A read of the one state entry `path` names (absent: null), provable with --prove."""

    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        result = client.query(path, data_of(given), height=opts.height, prove=opts.prove)
        shown = shown_of(given, result.value) if result.value else None
        return {name: shown, "height": result.height, "verified": result.verified}

    return read


read_grant = _read_entry(
    "/consent/grant",
    "grant",
    lambda given: given["grant_id"],
    lambda given, raw: grant_json(given["grant_id"], decode_grant(raw)),
)
read_access = _read_entry(
    "/consent/access",
    "access",
    lambda given: given["grant_id"] + given["request_id"],
    lambda given, raw: access_json(given["grant_id"], given["request_id"], decode_access(raw)),
)
read_params = _read_entry(
    "/consent/params", "params", lambda _: b"", lambda _, raw: decode_params(raw).to_value()
)


def _read_grants(path: str, role: str) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        # Verify the latest height: lists are answered there only
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner = given["address"]
        answer = client.query_list(path, owner, prove=opts.prove)
        return {
            role: encode_address(owner),
            "grants": [grant_json(i.id, decode_grant(i.value)) for i in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


def read_accesses(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    # Verify the latest height: lists are answered there only
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    grant_id = given["grant_id"]
    answer = client.query_list("/consent/accesses", grant_id, prove=opts.prove)
    return {
        "grant": grant_id.hex(),
        "accesses": [access_json(grant_id, i.id, decode_access(i.value)) for i in answer.items],
        "height": answer.height,
        "verified": answer.verified,
    }


def _ended(grant: dict[str, Any]) -> str:
    if grant["revoked_at"]:
        return f"revoked at {grant['revoked_at']}"
    return f"expired at {grant['expired_at']}" if grant["expired_at"] else "live"


def render_grants(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "grants"})
    rows_table(
        [
            {
                "id": g["id"],
                "grantee": g["grantee"],
                "purpose": g["purpose"],
                "expiry": g["expiry"],
                "accesses": f"{g['accesses']}/{g['max_accesses']}",
                "ended": _ended(g),
            }
            for g in data["grants"]
        ],
        ("id", "grantee", "purpose", "expiry", "accesses", "ended"),
    )


def render_accesses(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "accesses"})
    rows_table(
        [
            {
                "request": a["request_id"],
                "object": a["object"],
                "time": a["time"],
                "nodes": len(a["nodes"]),
                "counted_at": a["counted_at"] or "not yet",
            }
            for a in data["accesses"]
        ],
        ("request", "object", "time", "nodes", "counted_at"),
    )


QUERY_COMMANDS = (
    QueryCommand(
        module="consent",
        what="grant",
        help="An access grant by id (none: null): parties, purpose, expiry, objects, nodes, "
        "when it ended, counted accesses.",
        read=read_grant,
        args=(GRANT_ARG,),
    ),
    QueryCommand(
        module="consent",
        what="by-owner",
        help="Every grant ADDRESS gave, ended ones too (a list: with --prove, proven whole).",
        read=_read_grants("/consent/by_owner", "owner"),
        args=(ADDRESS_ARG,),
        render=render_grants,
    ),
    QueryCommand(
        module="consent",
        what="by-grantee",
        help="Every grant ADDRESS received (a list: with --prove, proven whole).",
        read=_read_grants("/consent/by_grantee", "grantee"),
        args=(ADDRESS_ARG,),
        render=render_grants,
    ),
    QueryCommand(
        module="consent",
        what="accesses",
        help="The audit trail of GRANT_ID: every access request its nodes recorded, with the "
        "nodes and when it counted (a list: with --prove, proven whole).",
        read=read_accesses,
        args=(GRANT_ARG,),
        render=render_accesses,
    ),
    QueryCommand(
        module="consent",
        what="access",
        help="One access record of GRANT_ID by REQUEST_ID.",
        read=read_access,
        args=(
            GRANT_ARG,
            Arg("request_id", "the request id, 64 hex digits", HEX32, metavar="REQUEST_ID"),
        ),
    ),
    QueryCommand(
        module="consent",
        what="params",
        help="Consent parameters: purposes, limits, record window, slash and bounty.",
        read=read_params,
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
