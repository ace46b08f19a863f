"""What a proposal can do when it passes: a list of actions, each a declaration.

An action is declared like a message (a frozen dataclass whose fields carry their kinds, so its
parsing, canonical value, JSON shape and README row come from the declaration) plus two methods:

    check(ctx, env)   the stateful checks, at submission and again just before applying
    apply(ctx, env)   the change, through the owning module's own functions

All of a passed proposal's actions run in one branch of state: if any raises, none applies and
the proposal records why (status `failed`), and the chain goes on. Adding an action is adding
a class here and a line to ACTIONS (see the README: community spends with vesting and funding
rounds are meant to arrive that way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import encode
from voxpop.chain.errors import (
    BlockedRecipientError,
    ChainError,
    CommunityPoolInsufficientError,
    InvalidProposalActionError,
    UpgradeHeightPassedError,
    quote,
)
from voxpop.chain.fields import (
    ADDRESS,
    AMOUNT,
    PUBKEY,
    BoolKind,
    Doc,
    Kind,
    ListKind,
    TextKind,
    UintKind,
)
from voxpop.chain.module import Module, Msg, msg_fields
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.bank.state import BLOCKED_RECIPIENTS, get_balance, move
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.gov import rewards, state
from voxpop.chain.modules.gov import rewards_state as rs
from voxpop.chain.modules.grant import state as grant
from voxpop.chain.modules.grant.handlers import forfeit_bond
from voxpop.chain.modules.services import state as services
from voxpop.chain.modules.wasm import state as wasm
from voxpop.chain.modules.wasm.messages import CONTRACT_MSG
from voxpop.chain.modules.wasm.module import WasmModule

COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)
MAX_ACTIONS = 16
MAX_PARAMS_BYTES = 4_096
MAX_NAME_BYTES = 64
MAX_REVIEWERS = 32
PERIOD = UintKind(1, MAX_DURATION_SECONDS // 2)  # two periods end within the time horizon


@dataclass(frozen=True, slots=True)
class ActionEnv:
    """What actions reach beyond state: the chain's modules (for their params)."""

    modules: Mapping[str, Module]
    proposal_id: int = 0  # the proposal whose actions run


class Action(Msg):
    """A proposal action. Not a message of its own: it has no signer, the proposal carries it."""

    SIGNER = ""

    def signers(self) -> tuple[bytes, ...]:
        return ()

    def check(self, ctx: Context, env: ActionEnv) -> None:
        """Stateful checks; raise a typed ChainError."""

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        raise NotImplementedError


class ParamsKind(Kind):
    """A map of parameter names to new values (CBOR/JSON: ints, bools, text, lists, maps)."""

    doc = f"map of parameter changes, at most {MAX_PARAMS_BYTES} bytes"

    def parse(self, value: Any, name: str) -> dict[str, Any]:
        # Verify a non-empty map of text keys, small enough to store
        if (
            not isinstance(value, dict)
            or not value
            or not all(isinstance(k, str) for k in value)
            or len(encode(value)) > MAX_PARAMS_BYTES
        ):
            raise self.fail(name, self.doc)
        return dict(value)

    def to_wire(self, value: Any) -> Any:
        return dict(value)

    def to_json(self, value: Any) -> Any:
        return dict(value)


@dataclass(frozen=True, slots=True)
class ParamChange(Action):
    """Change some of a module's parameters; the module validates the whole result."""

    TYPE = "gov/ParamChange"
    module: Annotated[str, TextKind(MAX_NAME_BYTES), Doc("e.g. staking")]
    changes: Annotated[dict[str, Any], ParamsKind(), Doc("the names and values to change")]

    def merged(self, ctx: Context, env: ActionEnv) -> tuple[Module, dict[str, Any]]:
        module = env.modules.get(self.module)
        current = module.params_value(ctx) if module is not None else None
        # Verify the module exists, has params, and every name changed is one of them
        if module is None or current is None:
            raise InvalidProposalActionError(f"module {quote(self.module)} has no parameters")
        unknown = sorted(set(self.changes) - set(current))
        if unknown:
            raise InvalidProposalActionError(f"{self.module} has no parameter {quote(unknown[0])}")
        return module, {**current, **self.changes}

    def check(self, ctx: Context, env: ActionEnv) -> None:
        module, value = self.merged(ctx, env)
        # Verify the module accepts the result (in a branch: a check changes nothing)
        set_params_checked(ctx.branch(), module, value)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        module, value = self.merged(ctx, env)
        set_params_checked(ctx, module, value)
        ctx.emit("param_change", module=self.module, changes=",".join(sorted(self.changes)))


def set_params_checked(ctx: Context, module: Module, value: dict[str, Any]) -> None:
    try:
        module.set_params_value(ctx, value)
    except ChainError as exc:
        raise InvalidProposalActionError(f"{module.name} params: {exc.message}") from None


@dataclass(frozen=True, slots=True)
class CommunitySpend(Action):
    """Pay `amount` from the community pool to `recipient`."""

    TYPE = "gov/CommunitySpend"
    recipient: Annotated[bytes, ADDRESS]
    amount: Annotated[int, AMOUNT]

    def check(self, ctx: Context, env: ActionEnv) -> None:
        # Verify the recipient is not a module account whose balance its module accounts for
        if self.recipient in BLOCKED_RECIPIENTS:
            raise BlockedRecipientError("a community spend cannot pay a module account")
        check_pool_spend(ctx, self.amount)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        move(ctx, COMMUNITY_POOL_ADDRESS, self.recipient, self.amount)
        ctx.emit("community_spend", recipient=addr_text(self.recipient), amount=str(self.amount))


@dataclass(frozen=True, slots=True)
class SetRegistrar(Action):
    """Add a sign-up-grant registrar (or rename it), or remove it with an empty name; a removal
    with `forfeit_bond` (a registrar that attested made-up identities) also moves its whole bond
    to the grant pool, refilling what its claims drew. How many claims each registrar may attest
    per epoch is grant's `registrar_quota`, the bond it needs `registrar_bond` (ParamChanges)."""

    TYPE = "gov/SetRegistrar"
    pub_key: Annotated[bytes, PUBKEY, Doc("the registrar's Ed25519 key")]
    name: Annotated[str, TextKind(MAX_NAME_BYTES), Doc("empty removes the registrar")]
    forfeit_bond: Annotated[
        bool, BoolKind(), Doc("with an empty name: its bond goes to the grant pool")
    ]

    def validate(self) -> None:
        # Verify only a removal forfeits a bond
        if self.forfeit_bond and self.name:
            raise InvalidProposalActionError("only a removal (empty name) forfeits the bond")

    def check(self, ctx: Context, env: ActionEnv) -> None:
        # Verify a removal names a registrar
        if not self.name and not grant.is_registrar(ctx, self.pub_key):
            raise InvalidProposalActionError("no such registrar to remove")

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        if self.name:
            grant.add_registrar(ctx, self.pub_key, self.name)
        else:
            grant.remove_registrar(ctx, self.pub_key)
        if self.forfeit_bond:
            forfeit_bond(ctx, self.pub_key)
        ctx.emit("registrar", pub_key=self.pub_key.hex(), name=self.name)


@dataclass(frozen=True, slots=True)
class AddServiceKinds(Action):
    """Add service kinds providers may offer (the services module checks the names)."""

    TYPE = "gov/AddServiceKinds"
    kinds: Annotated[tuple[str, ...], ListKind(TextKind(32), min_items=1, max_items=16)]

    def merged(self, ctx: Context) -> services.ServicesParams:
        params = services.get_params(ctx)
        value = _params_dict(params)
        value["kinds"] = [*params.kinds, *(k for k in self.kinds if k not in params.kinds)]
        try:
            return services.ServicesParams.from_value(value)
        except ChainError as exc:
            raise InvalidProposalActionError(f"services params: {exc.message}") from None

    def check(self, ctx: Context, env: ActionEnv) -> None:
        self.merged(ctx)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        services.set_params(ctx, self.merged(ctx))
        ctx.emit("service_kinds", added=",".join(self.kinds))


def _params_dict(params: services.ServicesParams) -> dict[str, Any]:
    return {
        "kinds": list(params.kinds),
        "min_stake": params.min_stake,
        "unbonding_seconds": params.unbonding_seconds,
        "max_endpoint_len": params.max_endpoint_len,
        "max_languages": params.max_languages,
    }


@dataclass(frozen=True, slots=True)
class SoftwareUpgrade(Action):
    """Plan an upgrade: at `height` a node stops unless it knows the upgrade by `name`; one that
    does runs the upgrade's migration once and goes on. A later plan replaces an earlier one."""

    TYPE = "gov/SoftwareUpgrade"
    name: Annotated[str, TextKind(MAX_NAME_BYTES), Doc("the upgrade the new version registers")]
    height: Annotated[int, UintKind(1), Doc("the first block the new version runs")]
    info: Annotated[str, TextKind(1_024), Doc("where to get the new version")]

    def validate(self) -> None:
        # Verify a name (the key a node's upgrade handler is registered under)
        if not self.name:
            raise InvalidProposalActionError("an upgrade needs a name")

    def check(self, ctx: Context, env: ActionEnv) -> None:
        # Verify the height is still ahead, and the name was never used
        if self.height <= ctx.block.height:
            raise UpgradeHeightPassedError(
                f"upgrade height {self.height} is not after the current height {ctx.block.height}"
            )
        if state.done_height(ctx, self.name) is not None:
            raise InvalidProposalActionError(f"upgrade {quote(self.name)} has already run")

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        plan = state.UpgradePlan(self.name, self.height, self.info, env.proposal_id)
        state.set_plan(ctx, plan)
        ctx.emit("upgrade_planned", name=self.name, height=str(self.height))


@dataclass(frozen=True, slots=True)
class CancelUpgrade(Action):
    """Drop the planned upgrade."""

    TYPE = "gov/CancelUpgrade"
    name: Annotated[str, TextKind(MAX_NAME_BYTES), Doc("the planned upgrade's name")]

    def check(self, ctx: Context, env: ActionEnv) -> None:
        plan = state.read_plan(ctx)
        # Verify that upgrade is the one planned
        if plan is None or plan.name != self.name:
            raise InvalidProposalActionError(f"no upgrade {quote(self.name)} is planned")

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        state.clear_plan(ctx)
        ctx.emit("upgrade_cancelled", name=self.name)


def check_pool_spend(ctx: Context, amount: int) -> None:
    pool = get_balance(ctx, COMMUNITY_POOL_ADDRESS)
    # Verify the pool holds the amount
    if amount > pool:
        raise CommunityPoolInsufficientError(
            f"the community pool holds {pool} uvox, {amount} asked"
        )


@dataclass(frozen=True, slots=True)
class VestedSpend(Action):
    """Pay `amount` from the community pool to `recipient` over `duration_seconds` from when the
    proposal passes, a little each block (what is due at time t is amount * elapsed / duration,
    rounded down; the last payment pays the rest). The amount leaves the pool at once (held by
    the gov account); a later `gov/CancelVesting` returns what is unpaid."""

    TYPE = "gov/VestedSpend"
    recipient: Annotated[bytes, ADDRESS]
    amount: Annotated[int, AMOUNT]
    duration_seconds: Annotated[int, PERIOD, Doc("paid out over this much block time")]

    def check(self, ctx: Context, env: ActionEnv) -> None:
        # Verify the recipient is not a module account whose balance its module accounts for
        if self.recipient in BLOCKED_RECIPIENTS:
            raise BlockedRecipientError("a community spend cannot pay a module account")
        check_pool_spend(ctx, self.amount)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        rewards.start_vesting(
            ctx, env.proposal_id, self.recipient, self.amount, self.duration_seconds
        )


@dataclass(frozen=True, slots=True)
class CancelVesting(Action):
    """Stop a vesting spend: what it has not paid stays in (returns to) the community pool."""

    TYPE = "gov/CancelVesting"
    vesting_id: Annotated[int, UintKind(1), Doc("the vesting's id (query gov vestings)")]

    def check(self, ctx: Context, env: ActionEnv) -> None:
        rs.require_active_vesting(ctx, self.vesting_id)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        rewards.cancel_vesting(ctx, self.vesting_id)


@dataclass(frozen=True, slots=True)
class FundingRound(Action):
    """Start a retro funding round: `budget` leaves the community pool at once (held by the gov
    account); contributors apply for `application_seconds`, then the `reviewers` allocate for
    `review_seconds`; each applicant is paid the median of the reviewers' allocations (scaled
    down to the budget if the medians exceed it) and the rest returns to the pool."""

    TYPE = "gov/FundingRound"
    budget: Annotated[int, AMOUNT]
    application_seconds: Annotated[int, PERIOD, Doc("contributors apply")]
    review_seconds: Annotated[int, PERIOD, Doc("then reviewers allocate")]
    reviewers: Annotated[
        tuple[bytes, ...],
        ListKind(ADDRESS, min_items=1, max_items=MAX_REVIEWERS),
        Doc("distinct addresses"),
    ]

    def validate(self) -> None:
        # Verify distinct reviewers
        if len(set(self.reviewers)) != len(self.reviewers):
            raise InvalidProposalActionError("each reviewer may appear once")

    def check(self, ctx: Context, env: ActionEnv) -> None:
        check_pool_spend(ctx, self.budget)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        rewards.start_round(
            ctx,
            env.proposal_id,
            self.budget,
            self.application_seconds,
            self.review_seconds,
            self.reviewers,
        )


@dataclass(frozen=True, slots=True)
class MigrateContract(Action):
    """Move a contract to another stored code and run that code's `migrate` with `msg`, whether
    or not the contract has an admin (the wasm module runs it, the gov account as the sender)."""

    TYPE = "gov/MigrateContract"
    contract: Annotated[bytes, ADDRESS]
    code_id: Annotated[int, UintKind(1), Doc("the stored code to move to")]
    msg: Annotated[bytes, CONTRACT_MSG]

    def module(self, env: ActionEnv) -> WasmModule:
        found = env.modules.get("wasm")
        # Verify the chain runs contracts
        if not isinstance(found, WasmModule):
            raise InvalidProposalActionError("this chain has no wasm module")
        return found

    def check(self, ctx: Context, env: ActionEnv) -> None:
        self.module(env)
        # Verify the contract and the code exist
        wasm.get_contract(ctx, self.contract)
        wasm.get_code(ctx, self.code_id)

    def apply(self, ctx: Context, env: ActionEnv) -> None:
        self.check(ctx, env)
        self.module(env).migrate_by_governance(ctx, self.contract, self.code_id, self.msg)


ACTIONS: dict[str, type[Action]] = {
    cls.TYPE: cls
    for cls in (
        ParamChange,
        CommunitySpend,
        SetRegistrar,
        AddServiceKinds,
        SoftwareUpgrade,
        CancelUpgrade,
        VestedSpend,
        CancelVesting,
        FundingRound,
        MigrateContract,
    )
}


class ActionsKind(Kind):
    """A proposal's actions: a list of `{"type", "value"}` maps, each parsed by its declaration.
    The Python value is a tuple of Action."""

    def __init__(self, *, max_items: int) -> None:
        self.max_items = max_items
        self.doc = f"list of 0..{max_items} actions {{type, value}}"

    def parse(self, value: Any, name: str) -> tuple[Action, ...]:
        # Verify a bounded list of {type, value} maps whose types are known actions
        if not isinstance(value, list) or len(value) > self.max_items:
            raise InvalidProposalActionError(f"{name} must be a list of 0 to {self.max_items}")
        out = []
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            if not isinstance(item, dict) or item.keys() != {"type", "value"}:
                raise InvalidProposalActionError(f"{where} must be a map of type and value")
            cls = ACTIONS.get(item["type"]) if isinstance(item["type"], str) else None
            if cls is None:
                raise InvalidProposalActionError(f"{where}: unknown action type")
            if not isinstance(item["value"], dict):
                raise InvalidProposalActionError(f"{where}.value must be a map")
            out.append(parse_action(cls, item["value"], where))
        return tuple(out)

    def to_wire(self, value: Any) -> Any:
        return [{"type": a.TYPE, "value": a.to_value()} for a in value]

    def to_json(self, value: Any) -> Any:
        return [a.to_json() for a in value]

    def from_json(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            cls = ACTIONS.get(str(item.get("type"))) if isinstance(item, dict) else None
            if cls is None or not isinstance(item.get("value"), dict):
                out.append(item)
                continue
            fields = {f.key: f for f in msg_fields(cls)}
            out.append(
                {
                    "type": cls.TYPE,
                    "value": {
                        k: fields[k].kind.from_json(v) if k in fields else v
                        for k, v in item["value"].items()
                    },
                }
            )
        return out


def parse_action(cls: type[Action], value: dict[str, Any], where: str) -> Action:
    try:
        return cls.from_value(value)
    except ChainError as exc:
        raise InvalidProposalActionError(f"{where}: {exc.message}") from None
    except Exception as exc:  # a parser bug must not halt the chain: it is a bad action
        raise InvalidProposalActionError(f"{where}: malformed ({type(exc).__name__})") from None


def actions_from_wire(actions: list[dict[str, Any]]) -> tuple[Action, ...]:
    """A stored proposal's actions (parsed when submitted: they parse again)."""
    return ACTIONS_KIND.parse(actions, "actions")


def action_table() -> str:
    """The Markdown table of actions for the README, from the declarations."""
    rows = ["| type | fields |", "|---|---|"]
    for cls in ACTIONS.values():
        described = ", ".join(
            f"`{f.key}` ({f.kind.doc}{': ' + f.doc if f.doc else ''})" for f in msg_fields(cls)
        )
        rows.append(f"| `{cls.TYPE}` | {described} |")
    return "\n".join(rows)


ACTIONS_KIND = ActionsKind(max_items=MAX_ACTIONS)
