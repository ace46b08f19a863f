"""Adopting a new version's parameters: the migration for a chain made before they existed.

A version that adds a parameter to a module gives it a default, but a chain made earlier holds
that module's params without it, and the module refuses them (a params value must have exactly
its fields). `adopt_defaults` writes each module's stored params again with every missing field at
its default (or as the module's `ParamsSpec.adopt` says: distribution keeps the fixed rate an
earlier chain ran at) and every field the version no longer knows left out, validated as
governance would validate them (`Module.set_params_value`). A module whose params were never
stored (a module the earlier version did not have) gets its defaults written, as a new chain's
genesis writes them, so clients can read and prove them. Nothing else in state changes.

Two routes run it, both inside a block so the state root covers it:
- a network: a software-upgrade proposal named `ADOPT_UPGRADE`, which this version knows
  (`voxpop.chain.modules.gov.upgrades`);
- a solo chain, whose one validator is the whole network: the node applies it in its next block
  on start when `missing_defaults` finds something (`voxpop.node.solo`), and says so in its log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Module

# The name a network's upgrade proposal uses. A later version adding params registers the next
# name (`adopt-defaults-2`) with the same migration: a done upgrade's name cannot be planned again.
ADOPT_UPGRADE = "adopt-defaults-1"


def _stored_params(state: KVReader, module: Module) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(stored, default) params of a module that has params ({} stored: none yet), else None."""
    spec = module.params_spec()
    if spec is None:
        return None
    # The defaults in their stored form (through the encoding: tuples become lists, as stored)
    default: dict[str, Any] = decode_state(encode(asdict(spec.default())))
    raw = state.get(spec.key)
    if raw is None:
        return {}, default
    stored = decode_state(raw)
    if not isinstance(stored, dict):
        return None  # not a params map at all: set_params_value refuses it with its own error
    return stored, default


def missing_defaults(state: KVReader, modules: Sequence[Module]) -> list[str]:
    """What `adopt_defaults` would change, one line per module (empty: nothing)."""
    out = []
    for module in modules:
        found = _stored_params(state, module)
        if found is None:
            continue
        stored, default = found
        if not stored:
            out.append(f"{module.name} params: none stored, defaults written")
            continue
        missing = sorted(set(default) - set(stored))
        unknown = sorted(set(stored) - set(default))
        if missing or unknown:
            parts = [f"new {missing}"] if missing else []
            parts += [f"no longer used {unknown}"] if unknown else []
            out.append(f"{module.name} params: {'; '.join(parts)}")
    return out


def adopt_defaults(ctx: Context, modules: Sequence[Module]) -> list[str]:
    """Rewrite every module's stored params with this version's fields; return what changed.
    Raises ChainError if the result is invalid (a default that contradicts a stored value)."""
    changed = missing_defaults(ctx, modules)
    for module in modules:
        found = _stored_params(ctx, module)
        if found is None:
            continue
        stored, default = found
        if set(stored) == set(default):
            continue
        filled = {key: stored.get(key, value) for key, value in default.items()}
        spec = module.params_spec()
        assert spec is not None
        module.set_params_value(ctx, spec.adopt(stored, filled) if spec.adopt else filled)
    for line in changed:
        ctx.emit("params_adopted", change=line[:200])
    return changed
