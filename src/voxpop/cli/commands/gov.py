"""`voxpop tx gov ...` and `voxpop query gov ...`: proposals, deposits, votes and tallies, and
developer rewards (funding round applications and allocations, rounds, vestings).

`query gov tally ID --verify` does not trust the node: it proves the tally record, fetches the
list it counted, checks the list against the record's commitment, recomputes the totals, and
(while the tally height is retained) checks every entry against proven state at that height.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.fields import ADDRESS_LEN
from voxpop.chain.listing import decode_commitment, merkle_root
from voxpop.chain.modules.gov import rewards_state, state, tally, views
from voxpop.chain.modules.gov.actions import ACTIONS, ACTIONS_KIND
from voxpop.chain.modules.gov.messages import (
    MsgDeposit,
    MsgSubmitProposal,
    MsgVote,
    MsgWeightedVote,
)
from voxpop.chain.modules.gov.rewards_messages import MsgAllocate, MsgApply
from voxpop.chain.modules.staking.state import DELEGATIONS_BY_DELEGATOR, Status
from voxpop.cli.declare import (
    ADDRESS,
    AMOUNT,
    AMOUNT_HELP,
    INTEGER,
    TEXT,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.keyring import resolve_address
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import fail
from voxpop.cli.signing import parse_amount_text
from voxpop.client import QueryResult, VoxClient
from voxpop.client.errors import ApiError

OPTION_BY_NAME = {name: int(option) for option, name in state.OPTION_NAMES.items()}
ZERO_ADDRESS = "vox1" + "q" * 38

# An example of each action, as a proposal file holds it (addresses in bech32, bytes in hex)
EXAMPLES: dict[str, dict[str, Any]] = {
    "gov/ParamChange": {"module": "staking", "changes": {"max_validators": 50}},
    "gov/CommunitySpend": {"recipient": ZERO_ADDRESS, "amount": 1_000_000},
    "gov/SetRegistrar": {"pub_key": "00" * 32, "name": "example registrar"},
    "gov/AddServiceKinds": {"kinds": ["translate"]},
    "gov/SoftwareUpgrade": {"name": "v2", "height": 100_000, "info": "https://..."},
    "gov/CancelUpgrade": {"name": "v2"},
    "gov/VestedSpend": {"recipient": ZERO_ADDRESS, "amount": 1_000_000, "duration_seconds": 86_400},
    "gov/CancelVesting": {"vesting_id": 1},
    "gov/FundingRound": {
        "budget": 1_000_000,
        "application_seconds": 86_400,
        "review_seconds": 86_400,
        "reviewers": [ZERO_ADDRESS],
    },
    "gov/MigrateContract": {"contract": ZERO_ADDRESS, "code_id": 2, "msg": {"migrate": {}}},
}


def template(action: str | None) -> dict[str, Any]:
    """A proposal file: title, summary, deposit, and the example of `action` (None: text)."""
    actions = [{"type": action, "value": EXAMPLES[action]}] if action else []
    return {"title": "...", "summary": "...", "deposit": "250vox", "actions": actions}


def _templates_help() -> str:
    lines = [
        "Submit the proposal in FILE (JSON) with its first deposit, from FROM.",
        "",
        "Templates (one action each; a proposal may carry up to 16, applied all or none;"
        " no actions: a text proposal):",
    ]
    for action in ACTIONS:
        lines += ["", f"{action}:", "", json.dumps(template(action), separators=(", ", ": "))]
    return "\n\n".join(line for line in lines if line) + "\n"


# --- argument kinds ---------------------------------------------------------------------------


def _parse_proposal_file(text: str, inputs: Inputs, label: str) -> dict[str, Any]:
    """The message fields a proposal file gives, converted from JSON (actions' addresses from
    bech32, bytes from hex, the deposit from vox text). The chain checks the rest."""
    try:
        data = json.loads(Path(text).read_text())
    except (OSError, ValueError) as exc:
        fail(
            "invalid_proposal_file",
            f"{label}: cannot read JSON ({type(exc).__name__})",
            inputs.output,
        )
    keys = {"title", "summary", "deposit", "actions"}
    # Verify exactly the fields of a proposal
    if not isinstance(data, dict) or set(data) != keys:
        fail("invalid_proposal_file", f"{label}: needs exactly {sorted(keys)}", inputs.output)
    deposit = data["deposit"]
    if isinstance(deposit, str):
        deposit = parse_amount_text(deposit, f"{label} deposit", inputs.output, allow_zero=True)
    return {
        "title": data["title"],
        "summary": data["summary"],
        "deposit": deposit,
        "actions": ACTIONS_KIND.from_json(data["actions"]),
    }


def _parse_option(text: str, inputs: Inputs, label: str) -> int:
    option = OPTION_BY_NAME.get(text.lower().replace("-", "_"))
    if option is None:
        fail("invalid_vote_option", f"{label}: one of {', '.join(OPTION_BY_NAME)}", inputs.output)
    return option


def _parse_weights(text: str, inputs: Inputs, label: str) -> list[list[int]]:
    """`yes=0.6,no=0.4` (weights as decimals of 1, at most 6 places) -> [[option, parts]]."""
    out = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        option = _parse_option(name.strip(), inputs, label)
        whole, _, frac = weight.strip().partition(".")
        # Verify a decimal weight with at most six places
        if not whole.isdigit() or not (frac == "" or (frac.isdigit() and len(frac) <= 6)):
            fail(
                "invalid_vote_weights",
                f"{label}: weights like 0.5 (at most 6 places)",
                inputs.output,
            )
        out.append([option, int(whole) * state.WEIGHT_ONE + int(frac.ljust(6, "0") or 0)])
    return out


def _parse_allocations(text: str, inputs: Inputs, label: str) -> list[list[Any]]:
    """`vox1...=1.5vox,bob=200uvox` (addresses or key names) -> [[address, uvox]]; empty: none
    (every applicant allocated 0)."""
    out: list[list[Any]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        who, sep, amount = part.partition("=")
        # Verify address=amount pairs
        if not sep or not who.strip():
            fail("invalid_allocation", f"{label}: address=amount, ...", inputs.output)
        address = resolve_address(who.strip(), inputs.home, inputs.keyring_backend, inputs.output)
        uvox = parse_amount_text(amount.strip(), label, inputs.output, allow_zero=True)
        out.append([address, uvox])
    return out


PROPOSAL_FILE = Kind(str, _parse_proposal_file)
ALLOCATIONS = Kind(str, _parse_allocations)
OPTION = Kind(str, _parse_option)
WEIGHTS = Kind(str, _parse_weights)
FLAG = Kind(bool)
PROPOSAL_ID = Arg("proposal_id", "the proposal's id", INTEGER, metavar="ID")
ROUND_ID = Arg("round_id", "the funding round's id", INTEGER, metavar="ROUND")


def _from_file(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """The file's fields (parsed into `actions`), then any given as options."""
    given = {k: v for k, v in value.items() if k != "actions" and v is not None}
    return {**value["actions"], **given}


TX_COMMANDS = (
    TxCommand(
        module="gov",
        verb="submit-proposal",
        msg=MsgSubmitProposal,
        help=_templates_help(),
        args=(
            Arg("actions", "the proposal, JSON (see the templates)", PROPOSAL_FILE, metavar="FILE"),
            Arg("title", "instead of the file's", TEXT, "--title", None),
            Arg("summary", "instead of the file's", TEXT, "--summary", None),
            Arg("deposit", f"instead of the file's: {AMOUNT_HELP}", AMOUNT, "--deposit", None),
        ),
        complete=_from_file,
    ),
    TxCommand(
        module="gov",
        verb="deposit",
        msg=MsgDeposit,
        help="Add AMOUNT from FROM to proposal ID's deposit.",
        args=(PROPOSAL_ID, Arg("amount", AMOUNT_HELP, AMOUNT)),
    ),
    TxCommand(
        module="gov",
        verb="vote",
        msg=MsgVote,
        help="Vote on proposal ID with all of FROM's stake: yes, no, abstain or no_with_veto.",
        args=(PROPOSAL_ID, Arg("option", "yes, no, abstain or no_with_veto", OPTION)),
    ),
    TxCommand(
        module="gov",
        verb="weighted-vote",
        msg=MsgWeightedVote,
        help="Split FROM's stake over options, e.g. yes=0.6,no=0.4 (the weights sum to 1).",
        args=(PROPOSAL_ID, Arg("options", "option=weight,...", WEIGHTS)),
    ),
    TxCommand(
        module="gov",
        verb="apply",
        msg=MsgApply,
        help="Apply from FROM to funding round ROUND with a LINK to the work done and a"
        " DESCRIPTION of it (in the round's application period, once).",
        args=(
            ROUND_ID,
            Arg("link", "where the work can be seen", TEXT),
            Arg("description", "the work done", TEXT),
        ),
    ),
    TxCommand(
        module="gov",
        verb="allocate",
        msg=MsgAllocate,
        help="As a reviewer of funding round ROUND, allocate its budget over the applicants,"
        " e.g. vox1...=150vox,vox1...=20vox (an applicant left out gets 0 from you; a later"
        " allocation replaces this one). Each applicant is paid the median of the reviewers'.",
        args=(ROUND_ID, Arg("allocations", "address=amount,...", ALLOCATIONS)),
    ),
)


# --- queries ----------------------------------------------------------------------------------


def _pid(given: dict[str, Any]) -> bytes:
    return state.id_bytes(given["proposal_id"])


def read_params(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    result = client.query("/gov/params", height=opts.height, prove=opts.prove)
    value = decode_state(result.value) if result.value else None
    return {"params": value, "height": result.height, "verified": result.verified}


def read_proposal(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    result = client.query("/gov/proposal", _pid(given), height=opts.height, prove=opts.prove)
    # Verify the proposal exists
    if not result.value:
        fail("unknown_proposal", f"no proposal {given['proposal_id']}", opts.output)
    p = state.decode_proposal(result.value)
    return {**views.proposal_json(p), "height": result.height, "verified": result.verified}


def read_proposals(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    """Every proposal: ids run from 1 to the proven last id, so none can be left out."""
    seq = client.query("/store", state.SEQ_KEY, height=opts.height, prove=opts.prove)
    last = decode_uint(seq.value) if seq.value else 0
    proposals, verified = [], seq.verified
    for pid in range(1, last + 1):
        result = client.query(
            "/gov/proposal", state.id_bytes(pid), height=seq.height, prove=opts.prove
        )
        verified = verified and result.verified
        if result.value:
            proposals.append(views.proposal_json(state.decode_proposal(result.value)))
    return {"proposals": proposals, "height": seq.height, "verified": verified}


def _tally_list(client: VoxClient, pid: bytes, record: state.TallyResult) -> list[tally.Entry]:
    chunks = [
        client.query("/gov/tally_chunk", pid + i.to_bytes(4, "big")).value
        for i in range(record.chunks)
    ]
    return tally.decode_chunks(chunks)


def read_votes(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    """The votes a tally counted (the list stored with it); one vote during voting."""
    pid = _pid(given)
    if given["voter"] is not None:
        data = pid + given["voter"]
        result = client.query("/gov/vote", data, height=opts.height, prove=opts.prove)
        options = views.options_json(decode_state(result.value)) if result.value else None
        return {"options": options, "height": result.height, "verified": result.verified}
    record = client.query("/gov/tally", pid, prove=opts.prove)
    if not record.value:
        fail(
            "tally_not_found",
            "votes are listed once tallied; give --voter for one vote",
            opts.output,
        )
    entries = _tally_list(client, pid, state.TallyResult(**decode_state(record.value)))
    return {"votes": [views.entry_json(e) for e in entries], "height": record.height}


def read_tally(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    pid = _pid(given)
    verify = bool(given["verify"])
    record = client.query("/gov/tally", pid, height=opts.height, prove=opts.prove or verify)
    if not record.value:
        fail("tally_not_found", f"proposal {given['proposal_id']} has no tally (yet)", opts.output)
    result = state.TallyResult(**decode_state(record.value))
    out = {**views.tally_json(result), "verified": record.verified}
    if verify:
        out["verification"] = verify_tally(client, pid, record, result, opts)
    return out


# --- verification -----------------------------------------------------------------------------


def verify_tally(
    client: VoxClient,
    pid: bytes,
    record: QueryResult,
    result: state.TallyResult,
    opts: StateQueryOptions,
) -> dict[str, Any]:
    """Check the tally without trusting the node; fail with `tally_unverified` at the first
    mismatch. Returns what was checked."""
    fmt = opts.output
    # Verify the record itself is proven (through the light client or the trusted keys)
    if not record.verified:
        fail("tally_unverified", "the tally record's proof did not verify", fmt)
    entries = _tally_list(client, pid, result)
    leaves = [tally.encode_entry(e) for e in entries]
    # Verify the list is the one the chain committed to, and its totals are the record's
    if (len(leaves), merkle_root(leaves)) != (result.count, result.root):
        fail("tally_unverified", "the tally list does not match its commitment", fmt)
    totals = tally.compute_totals(entries)
    if (totals.yes, totals.abstain, totals.no, totals.no_with_veto) != (
        result.yes,
        result.abstain,
        result.no,
        result.no_with_veto,
    ):
        fail("tally_unverified", "the tally's totals are not the sum of its list", fmt)
    checked: dict[str, Any] = {"list": True, "totals": True, "entries": len(entries)}
    try:
        check_entries_in_state(client, pid, entries, result.height, fmt)
    except ApiError as exc:
        if exc.code != "height_not_available":
            raise
        checked["state"] = f"height {result.height} is no longer retained: entries not checked"
    else:
        checked["state"] = f"every entry checked against proven state at height {result.height}"
    return checked


def check_entries_in_state(
    client: VoxClient, pid: bytes, entries: list[tally.Entry], height: int, fmt: Any
) -> None:
    """Each vote as recorded, each voter's delegations complete and as held, each weight as the
    validators' exchange rates give, each validator's rest as its tokens leave."""
    validators: dict[bytes, tuple[int, int, bool]] = {}

    def proven(path: str, data: bytes) -> bytes:
        res = client.query(path, data, height=height, prove=True)
        if not res.verified:
            fail("tally_unverified", f"a proof of {path} did not verify", fmt)
        return res.value

    def validator(operator: bytes) -> tuple[int, int, bool]:
        if operator not in validators:
            raw = proven("/staking/validator", operator)
            val = decode_state(raw) if raw else None
            validators[operator] = (
                (val["tokens"], val["shares"], val["status"] == Status.BONDED)
                if val
                else (0, 0, False)
            )
        return validators[operator]

    covered: dict[bytes, int] = {}
    for voter, kind, weight, options, delegations in entries:
        raw = proven("/gov/vote", pid + voter)
        if not raw or decode_state(raw) != options:
            fail("tally_unverified", f"entry of {voter.hex()}: not its recorded vote", fmt)
        if kind != tally.OWN:
            continue
        operators = [op for op, _ in delegations]
        commitment = proven("/store", DELEGATIONS_BY_DELEGATOR.commitment_key(voter))
        if decode_commitment(commitment or None) != (
            len(operators),
            merkle_root(sorted(operators)),
        ):
            fail("tally_unverified", f"entry of {voter.hex()}: delegations incomplete", fmt)
        total = 0
        for operator, shares in delegations:
            held = proven("/staking/delegation", operator + voter)
            if (decode_uint(held) if held else 0) != shares or len(operator) != ADDRESS_LEN:
                fail("tally_unverified", f"entry of {voter.hex()}: shares differ", fmt)
            tokens, total_shares, bonded = validator(operator)
            if bonded:
                worth = tally.compute_worth(shares, tokens, total_shares)
                covered[operator] = covered.get(operator, 0) + worth
                total += worth
        if total != weight:
            fail("tally_unverified", f"entry of {voter.hex()}: weight differs", fmt)
    for voter, kind, weight, _, _ in entries:
        if kind == tally.INHERITED:
            tokens, _, bonded = validator(voter)
            if not bonded or tokens - covered.get(voter, 0) != weight:
                fail("tally_unverified", f"validator {voter.hex()}: inherited weight differs", fmt)


def _listed(
    client: VoxClient, opts: StateQueryOptions, seq_key: bytes, path: str
) -> tuple[list[bytes], int, bool]:
    """Records 1 to the proven last id, all at one height: with --prove none can be left out."""
    seq = client.query("/store", seq_key, height=opts.height, prove=opts.prove)
    last = decode_uint(seq.value) if seq.value else 0
    found, verified = [], seq.verified
    for n in range(1, last + 1):
        result = client.query(path, state.id_bytes(n), height=seq.height, prove=opts.prove)
        verified = verified and result.verified
        if result.value:
            found.append(result.value)
    return found, seq.height, verified


def read_vestings(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    found, height, verified = _listed(client, opts, rewards_state.VESTING_SEQ_KEY, "/gov/vesting")
    vestings = [
        views.vesting_json(rewards_state.Vesting.from_value(decode_state(raw))) for raw in found
    ]
    return {"vestings": vestings, "height": height, "verified": verified}


def read_rounds(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    found, height, verified = _listed(client, opts, rewards_state.ROUND_SEQ_KEY, "/gov/round")
    rounds = [views.round_json(rewards_state.Round.from_value(decode_state(raw))) for raw in found]
    return {"rounds": rounds, "height": height, "verified": verified}


def read_round(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    """A round with every application (and its result once paid) and every reviewer's
    allocations, all read at one height (each proven with --prove)."""
    rid = state.id_bytes(given["round_id"])
    record = client.query("/gov/round", rid, height=opts.height, prove=opts.prove)
    # Verify the round exists
    if not record.value:
        fail("unknown_round", f"no funding round {given['round_id']}", opts.output)
    round_ = rewards_state.Round.from_value(decode_state(record.value))
    verified = record.verified

    def at_height(path: str, address: bytes) -> Any:
        nonlocal verified
        res = client.query(path, rid + address, height=record.height, prove=opts.prove)
        verified = verified and res.verified
        return decode_state(res.value) if res.value else None

    applications = [
        views.application_json(
            a, rewards_state.Application.from_value(at_height("/gov/application", a))
        )
        for a in round_.applicants
    ]
    allocations = [
        views.allocation_json(r, at_height("/gov/allocation", r)) for r in round_.reviewers
    ]
    return {
        **views.round_json(round_),
        "applications": applications,
        "allocations": allocations,
        "height": record.height,
        "verified": verified,
    }


QUERY_COMMANDS = (
    QueryCommand(module="gov", what="params", help="Governance parameters.", read=read_params),
    QueryCommand(
        module="gov",
        what="proposals",
        help="Every proposal (with --prove, each proven, and none left out).",
        read=read_proposals,
    ),
    QueryCommand(
        module="gov", what="proposal", help="One proposal.", read=read_proposal, args=(PROPOSAL_ID,)
    ),
    QueryCommand(
        module="gov",
        what="votes",
        help="The votes a tally counted (after voting), or with --voter one account's vote.",
        read=read_votes,
        args=(
            PROPOSAL_ID,
            Arg("voter", "vox1 address or key name", ADDRESS, "--voter", None),
        ),
    ),
    QueryCommand(
        module="gov",
        what="tally",
        help="A proposal's tally; --verify checks it without trusting the node.",
        read=read_tally,
        args=(
            PROPOSAL_ID,
            Arg("verify", "check the list, totals and each entry's state", FLAG, "--verify", False),
        ),
    ),
)

REWARDS_QUERY_COMMANDS = (
    QueryCommand(
        module="gov",
        what="rounds",
        help="Every funding round (with --prove, each proven, and none left out).",
        read=read_rounds,
    ),
    QueryCommand(
        module="gov",
        what="round",
        help="One funding round: its applications, each reviewer's allocations, the payouts.",
        read=read_round,
        args=(ROUND_ID,),
    ),
    QueryCommand(
        module="gov",
        what="vestings",
        help="Every vesting spend: what it has paid, what it still owes (none left out).",
        read=read_vestings,
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS, *REWARDS_QUERY_COMMANDS)
