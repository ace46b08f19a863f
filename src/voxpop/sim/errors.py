"""The simulation's typed errors: each has a stable `code` and says which rule was broken."""

from __future__ import annotations


class SimError(Exception):
    """Base of every simulation error."""

    code = "sim_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SimConfigError(SimError):
    """A configuration the simulation refuses: it would break an invariant of the model or of
    the chain. `rule` names the invariant."""

    code = "sim_config"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule


class SimTxError(SimError):
    """A tx the simulation built was refused by the chain: a bug in the model, never ignored."""

    code = "sim_tx_failed"


class SimInvariantError(SimError):
    """Supply was not conserved (genesis + issued - burned != sum of all balances)."""

    code = "sim_supply_not_conserved"


class PlotsUnavailableError(SimError):
    """matplotlib is not installed: plots need the `sim` extra."""

    code = "sim_plots_unavailable"
