"""Software upgrades: the plan governance sets, the halt, and the migrations new versions carry.

A version that knows an upgrade registers its migration under the upgrade's name
(`register_upgrade`) before the app starts: a node imports the modules named in
`$VOXPOP_UPGRADES` for that (`voxpop.node.app_factory`, docs/operations/node.md). At the plan's
height, in the first begin-block hook:

- a node that knows the upgrade runs its migration once (in the block, so every node that runs it
  reaches the same app hash), records it as done and clears the plan;
- any other node stops: `UpgradeRequired` is not a ChainError, so it is not a failed tx but the
  end of block production, with a message that says which version to run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from voxpop.chain.context import Context
from voxpop.chain.modules.gov import state
from voxpop.chain.modules.gov.adopt import ADOPT_UPGRADE, adopt_defaults

Migration = Callable[[Context], None]


def _adopt_defaults(ctx: Context) -> None:
    """The built-in ADOPT_UPGRADE: this version's new params at their defaults (gov/adopt.py)."""
    from voxpop.chain.registry import default_modules  # the registry lists gov itself

    adopt_defaults(ctx, default_modules())


# Migrations this version of voxpop knows, by upgrade name: its own, then those registered
KNOWN_UPGRADES: dict[str, Migration] = {ADOPT_UPGRADE: _adopt_defaults}


class UpgradeRequired(RuntimeError):
    """The chain reached a planned upgrade this version does not know: the node must stop."""


def register_upgrade(name: str, migration: Migration) -> None:
    """Make this process a version that knows upgrade `name`, migrating state with `migration`."""
    KNOWN_UPGRADES[name] = migration


def process_upgrade(ctx: Context, known: Mapping[str, Migration]) -> None:
    """At the plan's height: migrate and go on, or raise UpgradeRequired."""
    plan = state.read_plan(ctx.store)
    if plan is None or ctx.block.height < plan.height:
        return
    migration = known.get(plan.name)
    # Verify this version knows the upgrade (else the node must not make this block)
    if migration is None:
        raise UpgradeRequired(
            f"UPGRADE {plan.name!r} NEEDED at height {plan.height} (proposal {plan.proposal}): "
            f"this version does not know it; run a version that does. Info: {plan.info[:200]}"
        )
    migration(ctx)
    state.mark_done(ctx, plan.name, ctx.block.height)
    state.clear_plan(ctx)
    ctx.emit("upgrade_applied", name=plan.name, height=str(ctx.block.height))
